package ctlab.task;

import org.matheclipse.core.basic.Config;
import org.matheclipse.core.eval.EvalEngine;
import org.matheclipse.core.eval.ExprEvaluator;
import org.matheclipse.core.expression.F;
import org.matheclipse.core.form.tex.TeXParser;
import org.matheclipse.core.interfaces.IExpr;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Symbolic equality of two normalised LaTeX expressions through Symja's TeX parser: equal when
 * {@code Simplify(a - b)} is 0, or, for expressions without variables, when their numeric values agree to
 * a relative 1e-4. Every comparison runs on one daemon worker thread and is abandoned after
 * {@link #timeoutMillis()} (system property {@code ctlab.grader.symbolicTimeoutMs}, default 2000), so a
 * pathological answer never hangs a run; an abandoned worker is told to stop and replaced. Symja starts
 * lazily, once (about a second). Only expressions made of numbers, single-letter variables, operators and
 * known commands are sent; anything else is "not shown equal".
 */
final class SymbolicEquivalence {
    /** LaTeX commands whose meaning the TeX parser knows; any other command makes the answer non-symbolic. */
    private static final Set<String> KNOWN_COMMANDS = Set.of(
            "frac", "sqrt", "pi", "cdot", "times", "div", "infty", "sin", "cos", "tan", "cot", "sec", "csc",
            "arcsin", "arccos", "arctan", "ln", "log", "exp", "alpha", "beta", "gamma", "delta", "theta", "phi",
            "lambda", "mu", "sigma", "omega", "tau", "rho");
    private static final Pattern COMMAND = Pattern.compile("\\\\([a-zA-Z]+)");
    private static final Pattern LETTER_RUN = Pattern.compile("(?<![\\\\a-zA-Z])[a-zA-Z]{3,}");
    private static final int MAX_LENGTH = 300;

    private static final Object LOCK = new Object();
    private static ExecutorService worker;
    private static final ThreadLocal<ExprEvaluator> EVALUATOR =
            ThreadLocal.withInitial(SymbolicEquivalence::quietEvaluator);
    private static volatile ExprEvaluator running;  // the evaluator of the comparison in progress
    private static boolean started;

    private SymbolicEquivalence() {}

    static long timeoutMillis() { return Long.getLong("ctlab.grader.symbolicTimeoutMs", 2000L); }

    /** True only when Symja shows {@code a} and {@code b} equal within the time limit. */
    static boolean equal(String a, String b) {
        if (!eligible(a) || !eligible(b)) return false;
        return withinTimeLimit(() -> compare(a, b));
    }

    /** Runs {@code work} on the worker; false when it fails or runs past the time limit (then abandoned). */
    static boolean withinTimeLimit(Callable<Boolean> work) {
        synchronized (LOCK) {
            ensureStarted();
            Future<Boolean> result = worker.submit(work);
            try {
                return result.get(timeoutMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                abandonWorker(result);
                return false;
            } catch (ExecutionException e) {
                return false;  // Symja could not parse or evaluate: not shown equal
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abandonWorker(result);
                return false;
            }
        }
    }

    /** Numbers, operators, brackets, single letters and known commands only; no lists, no words. */
    static boolean eligible(String s) {
        if (s.isEmpty() || s.length() > MAX_LENGTH || s.indexOf(',') >= 0 || s.indexOf('=') >= 0) return false;
        Matcher m = COMMAND.matcher(s);
        while (m.find()) if (!KNOWN_COMMANDS.contains(m.group(1))) return false;
        if (LETTER_RUN.matcher(s.replaceAll("\\\\[a-zA-Z]+", " ")).find()) return false;
        return s.chars().allMatch(c -> c < 128);
    }

    private static boolean compare(String a, String b) {
        ExprEvaluator ev = EVALUATOR.get();  // Symja's engine is per thread: create it on the worker
        running = ev;
        IExpr x = parse(a), y = parse(b);
        if (x == null || y == null) return false;
        IExpr diff = ev.eval(F.Simplify(F.Subtract(x, y)));
        if (diff.isZero()) return true;
        IExpr nx = ev.eval(F.N(x)), ny = ev.eval(F.N(y));
        if (nx.isReal() && ny.isReal()) {
            return MathEquivalence.close(nx.evalf(), ny.evalf());
        }
        return false;
    }

    /** An evaluator whose engine prints nothing (Symja otherwise prints messages such as size-limit hits). */
    private static ExprEvaluator quietEvaluator() {
        ExprEvaluator ev = new ExprEvaluator(false, (short) 100);
        PrintStream devNull = new PrintStream(OutputStream.nullOutputStream());
        for (EvalEngine engine : new EvalEngine[] {ev.getEvalEngine(), EvalEngine.get()}) {
            engine.setQuietMode(true);
            engine.setOutPrintStream(devNull);
            engine.setErrorPrintStream(devNull);
        }
        return ev;
    }

    private static IExpr parse(String tex) {
        IExpr e = new TeXParser().parse(tex);
        if (e == null || e.toString().contains("$Aborted")) return null;
        return e;
    }

    /** Starts Symja once, with limits on number and expression sizes (they bound work, not results). */
    private static void ensureStarted() {
        if (worker == null) worker = newWorker();
        if (started) return;
        if (System.getProperty("log4j2.loggerContextFactory") == null) {  // keep Symja's logging quiet
            System.setProperty("log4j2.loggerContextFactory", "org.apache.logging.log4j.simple.SimpleLoggerContextFactory");
        }
        Future<?> warmUp = worker.submit(() -> {
            Config.FILESYSTEM_ENABLED = false;
            Config.MAX_BIT_LENGTH = 100_000;
            Config.MAX_AST_SIZE = 20_000;
            Config.MAX_POLYNOMIAL_DEGREE = 200;
            compare("\\frac{1}{2}", "0.5");
        });
        try {
            warmUp.get(120, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Symja failed to start", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting Symja", e);
        }
        started = true;
    }

    private static void abandonWorker(Future<Boolean> result) {
        ExprEvaluator ev = running;
        if (ev != null) ev.getEvalEngine().stopRequest();
        result.cancel(true);
        worker.shutdownNow();  // the old daemon thread ends when Symja notices the stop; a fresh one takes over
        worker = newWorker();
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "ctlab-symja");
            t.setDaemon(true);
            return t;
        });
    }
}

package ctlab.cli;

import ctlab.CtlabException;
import ctlab.analysis.RunComparison;
import ctlab.stats.PairedComparison;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code ctlab compare A B}: paired comparison of two evaluations (any two runs) on the same problems. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Paired comparison of two evaluations on the same problems: accuracy of each, the difference B - A",
                "with a paired bootstrap interval, and the exact McNemar test on the problems only one got right.",
                "A and B are eval files (RUN_DIR/08-eval/eval-METHOD.jsonl) or RUN_DIR:METHOD, e.g.",
                "  ctlab compare runs/organism:base runs/organism:cdpo",
                "  ctlab compare runs/a:cdpo runs/b:cdpo"})
final class CompareCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "A", description = "Eval file or RUN_DIR:METHOD (the reference).")
    String a;

    @Parameters(index = "1", paramLabel = "B", description = "Eval file or RUN_DIR:METHOD (compared against A).")
    String b;

    @Option(names = "--confidence", paramLabel = "C", defaultValue = "0.95", description = "Interval level (default: ${DEFAULT-VALUE}).")
    double confidence;

    @Option(names = "--resamples", paramLabel = "N", defaultValue = "10000", description = "Bootstrap resamples (default: ${DEFAULT-VALUE}).")
    int resamples;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Bootstrap seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override public Integer call() {
        if (!(confidence > 0 && confidence < 1)) throw new CtlabException("--confidence must be in (0, 1), got " + confidence);
        if (resamples < 100) throw new CtlabException("--resamples must be at least 100, got " + resamples);
        PairedComparison c = RunComparison.compare(RunComparison.outcomes(a), RunComparison.outcomes(b), a, b,
                confidence, resamples, seed);
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "A  %-40s %6.1f%%%n", a, 100 * c.accuracyA());
        out.printf(Locale.ROOT, "B  %-40s %6.1f%%%n", b, 100 * c.accuracyB());
        out.printf(Locale.ROOT, "%d problems; B - A = %+.1f points, %.0f%% paired bootstrap interval [%+.1f, %+.1f] (%d resamples, seed %d)%n",
                c.n(), 100 * c.difference(), 100 * c.confidence(), 100 * c.ciLower(), 100 * c.ciUpper(), c.resamples(), c.seed());
        out.printf(Locale.ROOT, "exact McNemar p = %.4g (right only in A: %d, only in B: %d)%n", c.mcnemarP(), c.onlyA(), c.onlyB());
        out.flush();
        return 0;
    }
}

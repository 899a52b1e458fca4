package ctlab.kernel;

import ctlab.io.Progress;
import ctlab.lab.Lab;
import jdk.jshell.SourceCodeAnalysis;
import org.dflib.jjava.jupyter.channels.JupyterConnection;
import org.dflib.jjava.jupyter.channels.ShellChannel;
import org.dflib.jjava.jupyter.channels.ShellHandler;
import org.dflib.jjava.jupyter.channels.ShellReplyEnvironment;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.HelpLink;
import org.dflib.jjava.jupyter.kernel.LanguageInfo;
import org.dflib.jjava.jupyter.kernel.ReplacementOptions;
import org.dflib.jjava.jupyter.kernel.comm.CommManager;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.magic.MagicsRegistry;
import org.dflib.jjava.jupyter.kernel.util.StringStyler;
import org.dflib.jjava.jupyter.kernel.util.TextColor;
import org.dflib.jjava.jupyter.messages.Message;
import org.dflib.jjava.jupyter.messages.publish.PublishError;
import org.dflib.jjava.jupyter.messages.publish.PublishExecuteInput;
import org.dflib.jjava.jupyter.messages.publish.PublishExecuteResult;
import org.dflib.jjava.jupyter.messages.reply.ErrorReply;
import org.dflib.jjava.jupyter.messages.reply.ExecuteReply;
import org.dflib.jjava.jupyter.messages.request.ExecuteRequest;

import org.dflib.jjava.jupyter.kernel.history.HistoryEntry;
import org.dflib.jjava.jupyter.kernel.history.HistoryManager;
import org.dflib.jjava.jupyter.messages.Header;
import org.dflib.jjava.jupyter.messages.MessageType;
import org.dflib.jjava.jupyter.messages.reply.KernelInfoReply;
import org.dflib.jjava.jupyter.messages.request.HistoryRequest;
import org.dflib.jjava.jupyter.messages.request.KernelInfoRequest;

import java.io.PrintWriter;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The ctlab Jupyter kernel: JShell in this JVM on the jjava-jupyter base.
 *
 * <p>Each cell runs on a fresh thread while the shell thread waits, so an interrupt (a control-channel
 * message; the kernelspec uses {@code interrupt_mode: message}) can first {@link Thread#interrupt()} it —
 * toolkit loops check the flag at step boundaries — and, after {@link #interruptGraceMillis} or a second
 * interrupt, force-stop user code. Every {@link Throwable} is turned into an error reply, so neither a user
 * {@code Error} nor one thrown while rendering a value can kill the shell thread.
 *
 * <p>JShell starts on a background thread at startup, so {@code kernel_info} answers at once and the
 * first cell waits only for what is left of the warm-up. The DJL engine is never touched here.
 */
public final class CtlabKernel extends BaseKernel {
    /** How long a cell may take to stop politely before user code is force-stopped. */
    final long interruptGraceMillis;
    /** After a force-stop, how long to wait before giving up on a cell that still runs. */
    static final long ABANDON_AFTER_MILLIS = 5_000;

    private final KernelIO kernelIO;
    private final CellOutput output;
    private final SessionHistory history;
    private final Magics magics;
    private final NotebookProgress progress;
    private final CompletableFuture<Evaluator> evaluator = new CompletableFuture<>();
    private final Object cellLock = new Object();
    private Thread cellThread;            // guarded by cellLock
    private long interruptedAt;           // nanoTime of the first interrupt of the running cell, guarded by cellLock
    private volatile JupyterConnection connection;   // for aborting queued requests after an error (stop_on_error)
    private volatile ShellChannel shell;

    private CtlabKernel(CellOutput output, KernelIO io, SessionHistory history, MagicsRegistry registry, boolean extensions, long graceMillis) {
        super("ctlab", Lab.version(),
                new LanguageInfo.Builder("java")
                        .version(Runtime.version().toString())
                        .mimetype("text/x-java-source")
                        .fileExtension(".jshell")
                        .pygments("java")
                        .codemirror("text/x-java")
                        .build(),
                List.of(new HelpLink("Java API", "https://docs.oracle.com/en/java/javase/17/docs/api/index.html")),
                history, io, new CommManager(), new CtlabRenderers.KernelRenderer(), null, registry, extensions,
                new StringStyler.Builder()
                        .addPrimaryStyle(TextColor.BOLD_RESET_FG)
                        .addSecondaryStyle(TextColor.BOLD_RED_FG)
                        .addHighlightStyle(TextColor.BOLD_RESET_FG)
                        .build());
        this.kernelIO = io;
        this.output = output;
        this.history = history;
        this.interruptGraceMillis = graceMillis;
        this.magics = new Magics(this);
        this.magics.registerIn(registry);
        this.progress = new NotebookProgress(io.display);
    }

    /** A kernel; call {@link #startEvaluator} to start JShell (execute requests wait for it). */
    public static CtlabKernel create(boolean extensions, long interruptGraceMillis) {
        CellOutput output = new CellOutput();
        return new CtlabKernel(output, new KernelIO(output), new SessionHistory(), new MagicsRegistry(), extensions, interruptGraceMillis);
    }

    /** Starts JShell on a background thread, compiling against {@code classPath}. */
    public void startEvaluator(String classPath) {
        Thread t = new Thread(() -> {
            try {
                evaluator.complete(new Evaluator(classPath));
            } catch (Throwable e) {
                evaluator.completeExceptionally(e);
            }
        }, "jshell-startup");
        t.setDaemon(true);
        t.start();
    }

    /** The connection and its shell socket, read directly to abort the requests queued behind a failed cell. */
    void attachShell(JupyterConnection connection, ShellChannel shell) {
        this.connection = connection;
        this.shell = shell;
    }

    /** The JShell evaluator, waiting for its start-up if needed. */
    Evaluator evaluator() {
        try {
            return evaluator.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw CellError.of("Interrupted", "interrupted while JShell was starting");
        } catch (ExecutionException e) {
            throw CellError.of("KernelStartupError", "JShell failed to start: " + e.getCause());
        }
    }

    // ---- execute ---------------------------------------------------------------------------------------

    @Override
    protected synchronized void handleExecuteRequest(ShellReplyEnvironment env, Message<ExecuteRequest> message) {
        commManager.setMessageContext(message);
        ExecuteRequest request = message.getContent();
        int count = request.isSilent() ? executionCount.get() : executionCount.getAndIncrement();
        env.setBusyDeferIdle();
        // Deferrals run last-in first-out: this one runs after the reply and before the idle status, as in
        // ipykernel, so a client that waits for idle and then sends its next cell never has it aborted.
        AtomicBoolean abortQueue = new AtomicBoolean();
        env.defer(() -> { if (abortQueue.get()) abortQueuedExecutes(); });
        env.publish(new PublishExecuteInput(request.getCode(), count));
        replaceOutputStreams(env);            // System.out/err: CellOutput's batched streams (see KernelIO)
        kernelIO.attach(env, request.isStdinEnabled());
        output.attach(env);
        env.defer(() -> {
            output.detach();
            kernelIO.detach(env);
        });
        Progress.Sink previousSink = Progress.sink();
        Progress.setSink(progress);
        try {
            DisplayData out = runCell(request.getCode());
            output.publish(() -> {
                if (out != null && !request.isSilent()) env.publish(new PublishExecuteResult(count, out));
            });
            if (request.shouldStoreHistory()) history.add(count, request.getCode(), out == null ? "" : String.valueOf(out.getData(org.dflib.jjava.jupyter.kernel.display.mime.MIMEType.TEXT_PLAIN)));
            env.defer().reply(new ExecuteReply(count, Collections.emptyMap()));
        } catch (Throwable t) {
            CellError e = t instanceof CellError ce ? ce : internalError(t);
            if (request.shouldStoreHistory()) history.add(count, request.getCode(), "");
            output.publish(() -> env.publish(new PublishError(e.ename, e.evalue, e.traceback)));
            ErrorReply reply = new ErrorReply(e.ename, e.evalue, e.traceback);
            reply.setExecutionCount(count);
            env.defer().replyError(ExecuteReply.MESSAGE_TYPE.error(), reply);
            abortQueue.set(request.shouldStopOnError());
        } finally {
            Progress.setSink(previousSink);
        }
    }

    /**
     * As ipykernel does for {@code stop_on_error}: every execute request already waiting on the shell socket
     * when a cell fails is answered {@code status: aborted} without running; other requests waiting there
     * (completion, inspection, ...) are handled as usual. Runs on the shell loop's thread, the socket's only reader.
     */
    private void abortQueuedExecutes() {
        ShellChannel socket = shell;
        JupyterConnection conn = connection;
        if (socket == null || conn == null) return;
        while ((socket.getEvents() & org.zeromq.ZMQ.Poller.POLLIN) != 0) {
            Message<?> m;
            try {
                m = socket.readMessage();       // throws for a badly signed message: drop it, as the guarded loop does
            } catch (RuntimeException e) {
                System.err.println("ctlab kernel: dropped a shell message: " + e);
                continue;
            }
            if (m == null) return;
            ShellReplyEnvironment env = conn.prepareReplyEnv(socket, m);
            try {
                if (ExecuteRequest.MESSAGE_TYPE.getName().equals(m.getHeader().getType().getName())) {
                    env.setBusyDeferIdle();
                    replyRaw(env, ExecuteReply.MESSAGE_TYPE, Map.of("status", "aborted"));
                } else {
                    dispatch(conn, env, m);
                }
            } catch (RuntimeException e) {
                System.err.println("ctlab kernel: dropped a shell message while aborting the queue: " + e);
            } finally {
                env.resolveDeferrals();
            }
            if (env.isMarkedForShutdown()) { conn.close(); return; }
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void dispatch(JupyterConnection conn, ShellReplyEnvironment env, Message m) {
        ShellHandler handler = conn.getHandler(m.getHeader().getType());
        if (handler != null) handler.handle(env, m);
    }

    /** Runs one cell on a fresh thread and renders its value there too (a user toString() is user code). */
    DisplayData runCell(String code) {
        Evaluator ev = evaluator();
        AtomicReference<DisplayData> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                Object value = magics.runCell(code);
                if (value != Evaluator.NO_VALUE) result.set(renderSafely(value));
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                output.sendAll();
            }
        }, "cell-" + executionCount.get());
        t.setDaemon(true);
        ClassLoader snippets = ev.control().snippetLoader();
        if (snippets != null) t.setContextClassLoader(snippets);
        synchronized (cellLock) {
            cellThread = t;
            interruptedAt = 0;
        }
        t.start();
        try {
            waitFor(t, ev.control());
        } finally {
            synchronized (cellLock) { cellThread = null; }
        }
        Throwable f = failure.get();
        if (f != null) throw f instanceof CellError ce ? ce : userError(f);
        return result.get();
    }

    private void waitFor(Thread t, CellExecutionControl control) {
        long forcedAt = 0;
        while (t.isAlive()) {
            try {
                t.join(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            output.sendIfDue();       // what the cell printed reaches the notebook within CellOutput.MAX_DELAY_NANOS
            long since;
            synchronized (cellLock) { since = interruptedAt == 0 ? -1 : System.nanoTime() - interruptedAt; }
            if (since < 0 || !t.isAlive()) continue;
            if (forcedAt == 0 && since >= interruptGraceMillis * 1_000_000L) {
                if (control.forceStop(t)) forcedAt = System.nanoTime();
                else if (since >= (interruptGraceMillis + ABANDON_AFTER_MILLIS) * 1_000_000L) forcedAt = System.nanoTime() - ABANDON_AFTER_MILLIS * 1_000_000L;
            } else if (forcedAt != 0 && System.nanoTime() - forcedAt >= ABANDON_AFTER_MILLIS * 1_000_000L) {
                throw CellError.of("Interrupted", "the cell did not stop; it is left running in the background"
                        + " (restart the kernel if it holds resources)");
            }
        }
    }

    /**
     * Interrupt request: the first asks the cell politely ({@link Thread#interrupt()}); user code still running
     * after the grace period, or at a second interrupt, is force-stopped.
     */
    @Override
    public void interrupt() {
        synchronized (cellLock) {
            if (cellThread == null) return;
            if (interruptedAt == 0) {
                interruptedAt = System.nanoTime();
                cellThread.interrupt();
            } else {
                interruptedAt = System.nanoTime() - interruptGraceMillis * 1_000_000L;   // second interrupt: stop now
            }
        }
    }

    private DisplayData renderSafely(Object value) {
        try {
            return value instanceof DisplayData d ? d : getRenderer().render(value);
        } catch (Throwable e) {
            CellError inner = userError(e);
            List<String> tb = new ArrayList<>();
            tb.add("error while rendering a value of type " + value.getClass().getName() + ":");
            tb.addAll(inner.traceback);
            throw new CellError(inner.ename, inner.evalue, tb);
        }
    }

    private static CellError userError(Throwable e) {
        if (e instanceof ThreadDeath) return CellError.of("Interrupted", "cell stopped by interrupt");
        if (e instanceof ExitGuard.Refused) return CellError.of("SystemExit", e.getMessage());
        return new CellError(e.getClass().getName(), e.getMessage() == null ? "" : e.getMessage(), stackLines(e));
    }

    private static CellError internalError(Throwable e) {
        List<String> tb = new ArrayList<>();
        tb.add("internal kernel error (a bug; the kernel keeps running):");
        tb.addAll(stackLines(e));
        return new CellError(e.getClass().getName(), String.valueOf(e.getMessage()), tb);
    }

    private static List<String> stackLines(Throwable e) {
        StringWriter sw = new StringWriter();
        try (PrintWriter pw = new PrintWriter(sw)) {
            e.printStackTrace(pw);
        } catch (Throwable printing) {
            return List.of(e.getClass().getName());
        }
        return List.of(sw.toString().split("\\R"));
    }

    // ---- replies the base library sends without the protocol's "status" field ---------------------------

    /** kernel_info_reply with {@code status: ok} (the base class omits it). */
    static final class OkKernelInfoReply extends KernelInfoReply {
        @SuppressWarnings("unused") private final String status = "ok";
        OkKernelInfoReply(String protocol, String name, String version, LanguageInfo info, String banner, List<HelpLink> links) {
            super(protocol, name, version, info, banner, links);
        }
    }

    @Override
    protected void handleKernelInfoRequest(ShellReplyEnvironment env, Message<KernelInfoRequest> message) {
        env.setBusyDeferIdle();
        env.reply(new OkKernelInfoReply(Header.PROTOCOL_VERISON, name, version, getLanguageInfo(), getBanner(), getHelpLinks()));
    }

    @Override
    protected void handleHistoryRequest(ShellReplyEnvironment env, Message<HistoryRequest> message) {
        HistoryRequest request = message.getContent();
        env.setBusyDeferIdle();
        Set<HistoryManager.ResultFlag> flags = EnumSet.noneOf(HistoryManager.ResultFlag.class);
        if (request.includeOutput()) flags.add(HistoryManager.ResultFlag.INCLUDE_OUTPUT);
        if (!request.useRaw()) flags.add(HistoryManager.ResultFlag.TRANSFORMED_INPUT);
        List<HistoryEntry> entries = switch (request.getAccessType()) {
            case TAIL -> history.lookupTail(((HistoryRequest.Tail) request).getMaxReturnLength(), flags);
            case RANGE -> {
                HistoryRequest.Range r = (HistoryRequest.Range) request;
                yield history.lookupRange(r.getSessionIndex(), r.getStart(), r.getStop(), flags);
            }
            case SEARCH -> {
                HistoryRequest.Search r = (HistoryRequest.Search) request;
                if (r.filterUnique()) flags.add(HistoryManager.ResultFlag.UNIQUE);
                yield history.search(r.getPattern(), r.getMaxReturnLength(), flags);
            }
        };
        // Built by hand: the base library's HistoryReply has no status and its entries are not serialised as the
        // protocol's [session, line, input] / [session, line, [input, output]] tuples.
        List<Object> tuples = new ArrayList<>();
        for (HistoryEntry h : entries) {
            tuples.add(h.hasOutput() ? List.of(h.getSession(), h.getCellNumber(), List.of(h.getInput(), h.getOutput()))
                                     : List.of(h.getSession(), h.getCellNumber(), h.getInput()));
        }
        Map<String, Object> content = new LinkedHashMap<>();
        content.put("status", "ok");
        content.put("history", tuples);
        replyRaw(env, MessageType.HISTORY_REPLY, content);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void replyRaw(ShellReplyEnvironment env, MessageType<?> type, Object content) {
        env.reply(new Message(env.getContext(), type, content));
    }

    // ---- BaseKernel hooks ------------------------------------------------------------------------------

    /** Evaluates code synchronously on the calling thread (used by the base library's {@code eval(...)}). */
    @Override
    public Object evalRaw(String source) {
        Object v = magics.runCell(source);
        return v == Evaluator.NO_VALUE ? null : v;
    }

    /** Shift-Tab: the signature(s) and Javadoc of what is at the cursor (waits for JShell's start-up if needed). */
    @Override
    public DisplayData inspect(String code, int at, boolean extraDetail) {
        List<SourceCodeAnalysis.Documentation> docs = evaluator().documentation(code, at, true);
        if (docs.isEmpty()) return null;
        StringBuilder sb = new StringBuilder();
        for (SourceCodeAnalysis.Documentation d : docs) {
            if (sb.length() > 0) sb.append("\n\n");
            sb.append(d.signature());
            String javadoc = d.javadoc();
            if (javadoc != null && !javadoc.isBlank()) sb.append("\n\n").append(plainJavadoc(javadoc));
        }
        return new DisplayData(sb.toString());
    }

    /** Javadoc as plain text: inline tags reduced to their text, paragraphs as blank lines, HTML tags dropped. */
    static String plainJavadoc(String javadoc) {
        String s = javadoc.replaceAll("\\{@(?:code|literal) ([^}]*)}", "$1")
                .replaceAll("\\{@(?:link|linkplain) (?:[^}\\s]*\\s+)?([^}]*)}", "$1")    // label, or the reference
                .replaceAll("(?i)<p>", "\n")
                .replaceAll("<[^>]+>", "")
                .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
        StringBuilder out = new StringBuilder();
        for (String line : s.strip().split("\\R", -1)) out.append(line.strip()).append('\n');
        return out.toString().replaceAll("\n{3,}", "\n\n").strip();
    }

    @Override
    public ReplacementOptions complete(String code, int at) {
        int lineStart = code.lastIndexOf('\n', Math.max(0, at - 1)) + 1;
        String line = code.substring(lineStart, at);
        if (line.stripLeading().startsWith("%")) {
            String typed = line.stripLeading();
            boolean cell = typed.startsWith("%%");
            String prefix = typed.substring(cell ? 2 : 1);
            if (prefix.matches("\\w*")) {
                List<String> names = new ArrayList<>(cell ? getMagicsRegistry().getCellMagicNames() : getMagicsRegistry().getLineMagicNames());
                names.removeIf(n -> !n.startsWith(prefix));
                Collections.sort(names);
                return new ReplacementOptions(names, at - prefix.length(), at);
            }
            return null;
        }
        if (!evaluator.isDone()) return null;
        Evaluator.Completion c = evaluator().complete(code, at);
        return new ReplacementOptions(c.options(), c.start(), c.end());
    }

    @Override
    public String isComplete(String code) {
        if (!evaluator.isDone()) return IS_COMPLETE_MAYBE;
        StringBuilder java = new StringBuilder();
        for (String line : code.split("\\R", -1)) {
            if (!line.stripLeading().startsWith("%")) java.append(line).append('\n');
        }
        String s = java.toString();
        if (s.endsWith("\n") && !code.endsWith("\n")) s = s.substring(0, s.length() - 1);
        return evaluator().isComplete(s);
    }

    @Override
    public List<String> formatError(Throwable e) {
        return e instanceof CellError ce ? ce.traceback : stackLines(e);
    }

    @Override
    public void onShutdown(boolean isRestarting) {
        super.onShutdown(isRestarting);
        if (evaluator.isDone() && !evaluator.isCompletedExceptionally()) evaluator.join().close();
    }
}

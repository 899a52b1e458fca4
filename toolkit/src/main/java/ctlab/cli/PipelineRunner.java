package ctlab.cli;

import ctlab.CtlabException;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.run.RunInterrupted;
import ctlab.run.Stage;
import ctlab.run.stage.Stages;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The shared body of {@code ctlab run} and the stage subcommands: load the config, run the pipeline, print
 * a summary. Ctrl-C / SIGTERM interrupts the pipeline thread (saying so at once), which stops at the next record
 * or step and logs the interruption; the process exits 130 (SIGINT) or 143 (SIGTERM). 20 s without stopping lets
 * the JVM halt (appended records are flushed line by line, so even SIGKILL loses at most the record being written).
 */
final class PipelineRunner {
    /**
     * Exit code when the run stopped on an interrupt inside the JVM. A signal decides the process's own status:
     * 130 for Ctrl-C (SIGINT), 143 for SIGTERM (128 + the signal number, as shells report it; docs/runs.md).
     */
    static final int EXIT_INTERRUPTED = 130;
    static final int STOP_WAIT_S = 20;

    private PipelineRunner() {}

    static Pipeline pipeline(RunOptions o) {
        if (o.pipelineClass == null) return Stages.pipeline();
        try {
            Object supplier = Class.forName(o.pipelineClass).getDeclaredConstructor().newInstance();
            @SuppressWarnings("unchecked")
            List<Stage> stages = ((Supplier<List<Stage>>) supplier).get();
            return new Pipeline(stages);
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new CtlabException("--pipeline " + o.pipelineClass + ": not a Supplier<List<Stage>> class with a "
                    + "no-argument constructor (" + e + ")");
        }
    }

    static int run(RunOptions o, Set<String> only, Set<String> force, PrintWriter out) {
        if (o.config == null) throw new CtlabException("missing CONFIG (a YAML or JSON run config)");
        Pipeline pipeline = pipeline(o);
        RunConfig config = RunConfig.load(o.config, o.sets);
        Path runDir = o.runDir != null ? o.runDir : Path.of("runs", config.name());

        Thread worker = Thread.currentThread();
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            // said at once: a sampling batch or training step can take many seconds to reach its next check
            System.err.println("stopping: finishing the current record or step (at most " + STOP_WAIT_S
                    + " s); partial outputs are kept, re-run the same command to resume");
            System.err.flush();
            worker.interrupt();
            try {
                if (!finished.await(STOP_WAIT_S, TimeUnit.SECONDS)) {
                    System.err.println("did not stop within " + STOP_WAIT_S + " s; exiting now (the unfinished record or step is redone on resume)");
                }
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "ctlab-interrupt");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            List<Pipeline.Outcome> outcomes = pipeline.run(config, runDir,
                    new Pipeline.Options(only, force, System.err::println));
            for (Pipeline.Outcome oc : outcomes) {
                out.printf(Locale.ROOT, "%-16s %-8s %8.1f s%n", oc.folder(), oc.status().name().toLowerCase(Locale.ROOT),
                        oc.seconds());
            }
            out.println("outputs in " + runDir.toAbsolutePath());
            out.flush();
            return 0;
        } catch (RunInterrupted e) {
            System.err.println("interrupted: " + e.getMessage());
            return EXIT_INTERRUPTED;
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is already exiting (the hook is running); nothing to remove
            }
        }
    }

    static void listStages(Pipeline pipeline, PrintWriter out) {
        List<Stage> stages = pipeline.stages();
        for (int i = 0; i < stages.size(); i++) {
            Stage s = stages.get(i);
            out.printf(Locale.ROOT, "%-14s %s%n", ctlab.run.RunDir.folderName(i, s.name()), s.description());
        }
        out.flush();
    }
}

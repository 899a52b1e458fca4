package ctlab.cli;

import ctlab.CtlabException;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.run.RunInterrupted;
import ctlab.run.Stage;
import ctlab.run.Stages;

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
 * a summary. Ctrl-C / SIGTERM interrupts the pipeline thread, which stops at the next record or step, logs
 * the interruption and exits 130; a second signal or 20 s without progress lets the JVM halt (appended
 * records are flushed line by line, so even SIGKILL loses at most the record being written).
 */
final class PipelineRunner {
    static final int EXIT_INTERRUPTED = 130;

    private PipelineRunner() {}

    static Pipeline pipeline(RunOptions o) {
        if (o.pipelineClass == null) return Pipeline.cdpo();
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
            worker.interrupt();
            try {
                finished.await(20, TimeUnit.SECONDS);
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
            out.printf(Locale.ROOT, "%-14s %s%s%n", ctlab.run.RunDir.folderName(i, s.name()), s.description(),
                    Stages.implemented(s) ? "" : "  [not implemented yet]");
        }
        out.flush();
    }
}

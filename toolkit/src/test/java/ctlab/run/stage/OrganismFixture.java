package ctlab.run.stage;

import ctlab.run.RunConfig;
import ctlab.task.organism.OrganismPretrain;
import ctlab.task.organism.PretrainConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A CI-sized organism base model (the organism's own {@link PretrainConfig#ci()} recipe: seconds on two cores),
 * trained once per test JVM into a temp folder: {@code model/} and {@code data/} as the pretrain command writes
 * them. Random-weight golden models never write "The answer is N", so grading would see no answers at all.
 */
public final class OrganismFixture {
    private static Path base;
    private static int savedThreads = -1;

    private OrganismFixture() {}

    public static synchronized Path base() {
        if (base == null) {
            try {
                Path dir = Files.createTempDirectory("ctlab-organism-ci-");
                try (OrganismPretrain.Trained t = OrganismPretrain.train(PretrainConfig.ci(), dir, s -> {})) {
                    base = dir;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return base;
    }

    /**
     * Pins PyTorch to one intra-op thread for a test class that compares bytes across runs: with 2 threads on this
     * shared machine under heavy load, same-seed runs were seen to part by an ulp (see TrainerTest), which can
     * flip a sampled token. Call from {@code @BeforeAll}; {@link #restoreThreads()} from {@code @AfterAll}.
     */
    public static synchronized void oneThread() {
        ai.djl.engine.Engine.getInstance();
        savedThreads = ai.djl.pytorch.jni.JniUtils.getNumThreads();
        ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
    }

    public static synchronized void restoreThreads() {
        if (savedThreads > 0) ai.djl.pytorch.jni.JniUtils.setNumThreads(savedThreads);
    }

    /** A run config on the fixture: {@code extra} YAML (top-level sections) is appended to the basics. */
    public static String yaml(String extra) {
        Path b = base();
        return "name: t\nseed: 3\nthreads: 1\ntask: organism\n"
                + "data: {train: " + b.resolve("data/train.jsonl") + ", test: " + b.resolve("data/test.jsonl") + "}\n"
                + "model: " + b.resolve("model") + "\n" + extra;
    }

    public static RunConfig config(String extra) { return RunConfig.parse(yaml(extra), "test.yaml", List.of()); }
}

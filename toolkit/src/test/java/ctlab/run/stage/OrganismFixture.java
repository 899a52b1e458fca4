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

    /** A run config on the fixture: {@code extra} YAML (top-level sections) is appended to the basics. */
    public static String yaml(String extra) {
        Path b = base();
        return "name: t\nseed: 3\nthreads: 2\ntask: organism\n"
                + "data: {train: " + b.resolve("data/train.jsonl") + ", test: " + b.resolve("data/test.jsonl") + "}\n"
                + "model: " + b.resolve("model") + "\n" + extra;
    }

    public static RunConfig config(String extra) { return RunConfig.parse(yaml(extra), "test.yaml", List.of()); }
}

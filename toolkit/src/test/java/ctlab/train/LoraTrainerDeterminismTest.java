package ctlab.train;

import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Same JVM, real model: LoRA on the golden Llama through the real {@link Trainer} (AdamW, warmup, cosine,
 * clipping, accumulation, LoRA dropout) twice with the same seed. The second run forces garbage collections
 * between the forward and the backward pass of every 4th micro-batch: before {@link ctlab.model.Scalars},
 * a GC there freed scalars autograd still needed and the runs parted.
 */
class LoraTrainerDeterminismTest {
    static final int STEPS = 100;
    @TempDir Path dir;

    @Test void sameSeedGivesIdenticalStepsEvenWithGcBetweenForwardAndBackward() throws IOException {
        Path plain = dir.resolve("plain");
        Path gc = dir.resolve("gc");
        DeterminismChild.train(LlamaLoraTask.Size.GOLDEN, plain, STEPS, 42, 0);
        DeterminismChild.train(LlamaLoraTask.Size.GOLDEN, gc, STEPS, 42, 4);

        List<Double> losses = column(plain, "loss");
        assertEquals(STEPS, losses.size());
        assertEquals(losses, column(gc, "loss"), "per-step losses");
        assertEquals(column(plain, "grad_norm"), column(gc, "grad_norm"), "per-step gradient norms");
        assertSameCheckpoint(plain, gc, STEPS);
        double first = losses.subList(0, 10).stream().mapToDouble(d -> d).average().orElseThrow();
        double last = losses.subList(STEPS - 10, STEPS).stream().mapToDouble(d -> d).average().orElseThrow();
        assertTrue(last < first * 0.5, "the adapters learn: mean loss " + first + " -> " + last);
        System.out.printf("same-JVM LoRA determinism: %d identical steps, loss %.4f -> %.4f%n", STEPS, first, last);
    }

    @Test void anotherSeedGivesAnotherRun() {
        DeterminismChild.train(LlamaLoraTask.Size.GOLDEN, dir.resolve("a"), 3, 42, 0);
        DeterminismChild.train(LlamaLoraTask.Size.GOLDEN, dir.resolve("b"), 3, 43, 0);
        assertNotEquals(column(dir.resolve("a"), "loss"), column(dir.resolve("b"), "loss"),
                "the seed drives the data order and LoRA dropout");
    }

    static List<Double> column(Path runDir, String key) {
        return Jsonl.read(runDir.resolve(Trainer.METRICS_FILE)).stream().map(l -> l.json().get(key).asDouble()).toList();
    }

    /** Trained parameters and AdamW moments are byte-identical. */
    static void assertSameCheckpoint(Path a, Path b, int step) throws IOException {
        for (String f : List.of(Checkpoint.PARAMS_FILE, Checkpoint.OPTIMIZER_FILE)) {
            Path fa = Checkpoint.dirFor(a.resolve(Trainer.CHECKPOINTS_DIR), step).resolve(f);
            Path fb = Checkpoint.dirFor(b.resolve(Trainer.CHECKPOINTS_DIR), step).resolve(f);
            assertArrayEquals(Files.readAllBytes(fa), Files.readAllBytes(fb), f + " differs");
        }
    }
}

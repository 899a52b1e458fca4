package ctlab.train;

import ctlab.run.ChildJvm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static ctlab.train.LoraTrainerDeterminismTest.assertSameCheckpoint;
import static ctlab.train.LoraTrainerDeterminismTest.column;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The standard "same seed and thread count give the same numbers" across processes: two child JVMs train LoRA
 * adapters through the real {@link Trainer} ({@link DeterminismChild}) and must agree bit for bit on every
 * step's loss and gradient norm and on the final parameters and AdamW moments.
 *
 * <p>The two children are made as different as a user's runs can be: child B has a 4 MB young generation (a
 * GC every few steps, at other moments than A's), glibc scribbling over freed and fresh memory
 * ({@code MALLOC_PERTURB_}), and GCs forced between forward and backward; its heap and native allocations
 * (hence tensor alignments) differ from A's. See docs/determinism.md.
 */
@Tag("slow")
class CrossJvmDeterminismTest {
    static final Duration TIMEOUT = Duration.ofMinutes(3);
    @TempDir Path dir;

    /** The golden tiny Llama, 100 steps, one intra-op thread. */
    @Test void goldenLlamaOneThread() throws Exception {
        assertIdenticalRuns("golden", 1, 100);
    }

    /** Same at two threads: exact too (at this size no op is split across threads, see the wide test). */
    @Test void goldenLlamaTwoThreads() throws Exception {
        assertIdenticalRuns("golden", 2, 100);
    }

    /**
     * A model wide enough that GEMMs and reductions are split across both threads: still exact across JVMs with the
     * same thread count. Whether 1 and 2 threads round differently is a property of the CPU's math library (they
     * differ on some Intel machines and are identical on some AMD EPYC ones), so it is printed, not asserted; what
     * is asserted is that each run really trained with the thread count it asked for (recorded in its checkpoint).
     */
    @Test void wideLlamaTwoThreadsIsExactAcrossJvms() throws Exception {
        Path one = dir.resolve("wide-1");
        Process p = start(one, "wide", 1, 10, Map.of(), List.of(), 0);     // runs beside the two 2-thread children
        List<Double> twoThreads;
        try {
            twoThreads = assertIdenticalRuns("wide", 2, 10);
        } catch (Throwable t) {
            p.destroyForcibly();
            throw t;
        }
        assertEquals(0, ChildJvm.finish(p, dir, TIMEOUT), ChildJvm.output(p, dir));
        List<Double> oneThread = column(one, "loss");
        assertEquals(1, intraOpThreads(one, 10), "the 1-thread run's recorded intra-op threads");
        assertEquals(2, intraOpThreads(dir.resolve("wide-2-a"), 10), "the 2-thread run's recorded intra-op threads");
        double maxRel = 0;
        for (int i = 0; i < oneThread.size(); i++) {
            maxRel = Math.max(maxRel, Math.abs(oneThread.get(i) - twoThreads.get(i)) / Math.abs(oneThread.get(i)));
        }
        System.out.printf("wide model: max relative loss difference 1 vs 2 threads over 10 steps = %.2e"
                + " (0 is possible: it depends on the CPU's math library)%n", maxRel);
    }

    private static int intraOpThreads(Path run, int step) {
        return Checkpoint.readState(Checkpoint.dirFor(run.resolve(Trainer.CHECKPOINTS_DIR), step)).threads().get("intra_op");
    }

    /** Runs children A and B (see class comment) concurrently and asserts identical numbers; returns the losses. */
    private List<Double> assertIdenticalRuns(String size, int threads, int steps) throws Exception {
        Path a = dir.resolve(size + "-" + threads + "-a");
        Path b = dir.resolve(size + "-" + threads + "-b");
        Process pa = start(a, size, threads, steps, Map.of(), List.of(), 0);
        Process pb = start(b, size, threads, steps, Map.of("MALLOC_PERTURB_", "170"), List.of("-Xmn4m"), 5);
        assertEquals(0, ChildJvm.finish(pa, dir, TIMEOUT), ChildJvm.output(pa, dir));
        assertEquals(0, ChildJvm.finish(pb, dir, TIMEOUT), ChildJvm.output(pb, dir));
        List<Double> losses = column(a, "loss");
        assertEquals(steps, losses.size());
        assertEquals(losses, column(b, "loss"), "per-step losses, " + threads + " thread(s)");
        assertEquals(column(a, "grad_norm"), column(b, "grad_norm"), "per-step gradient norms");
        assertSameCheckpoint(a, b, steps);
        System.out.printf("cross-JVM %s, %d thread(s): %d identical steps, final loss %.6f%n", size, threads, steps,
                losses.get(steps - 1));
        return losses;
    }

    private Process start(Path out, String size, int threads, int steps, Map<String, String> env, List<String> jvmArgs,
                          int gcEvery) throws IOException {
        Map<String, String> e = new java.util.HashMap<>(env);
        e.put("OMP_WAIT_POLICY", "PASSIVE");
        return ChildJvm.java(dir, e, jvmArgs, DeterminismChild.class.getName(), out.toString(), size,
                String.valueOf(threads), String.valueOf(steps), "42", String.valueOf(gcEvery));
    }
}

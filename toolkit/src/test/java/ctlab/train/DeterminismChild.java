package ctlab.train;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

import java.nio.file.Path;

/**
 * Child-JVM entry point of {@link CrossJvmDeterminismTest}: trains {@link TinyLlamaLoraTask} through the real
 * {@link Trainer} and leaves {@code metrics.jsonl} (one record per step) and the final checkpoint in OUT_DIR.
 * Args: OUT_DIR SIZE INTRA_OP_THREADS STEPS SEED [GC_EVERY] — SIZE is golden or wide
 * ({@link LlamaLoraTask.Size}); GC_EVERY &gt; 0 forces garbage collections between forward and backward of every
 * GC_EVERY-th micro-batch.
 */
public final class DeterminismChild {
    private DeterminismChild() {}

    public static void main(String[] args) {
        Path out = Path.of(args[0]);
        LlamaLoraTask.Size size = LlamaLoraTask.Size.valueOf(args[1].toUpperCase(java.util.Locale.ROOT));
        int threads = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        long seed = Long.parseLong(args[4]);
        int gcEvery = args.length > 5 ? Integer.parseInt(args[5]) : 0;
        Engine.getInstance();
        JniUtils.setNumThreads(threads);
        TrainResult r = train(size, out, steps, seed, gcEvery);
        System.out.println("DONE step=" + r.step() + " loss=" + r.lastLoss() + " threads=" + JniUtils.getNumThreads());
    }

    /** The run both tests use: LoRA on a Llama, AdamW with warmup, cosine decay, clipping, accumulation 2. */
    static TrainResult train(LlamaLoraTask.Size size, Path out, int steps, long seed, int gcEvery) {
        TrainConfig config = TrainConfig.builder().lr(1e-2).warmupSteps(10).schedule(Schedule.Kind.COSINE)
                .weightDecay(0.01).maxGradNorm(1.0).gradAccum(2).maxSteps(steps).seed(seed).build();
        try (LlamaLoraTask task = LlamaLoraTask.of(size, 6)) {
            if (gcEvery > 0) task.gcBeforeBackward = call -> call % gcEvery == 0;
            return new Trainer(config).fit(task, out);
        }
    }
}

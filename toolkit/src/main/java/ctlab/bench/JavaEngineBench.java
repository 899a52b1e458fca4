package ctlab.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.io.Jsonl;
import ctlab.io.Progress;
import ctlab.model.LlamaModel;
import ctlab.model.Param;
import ctlab.sample.Sampler;
import ctlab.train.TrainConfig;
import ctlab.train.Trainer;
import ctlab.train.TrainingTask;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The ctlab side of the benchmark, run in this process with the thread settings it was started with.
 * Phases, with the same definitions as tools/bench/bench_torch.py:
 * <ul>
 *   <li>{@code forward}: {@link LlamaModel#logits} of a (batch, seq) batch, no gradient recording;</li>
 *   <li>{@code decode_bN}: {@link ctlab.sample.Sampler#greedy} of {@code newTokens} tokens after an N-row prompt (prefill
 *       plus KV-cache steps, as HF {@code generate} does);</li>
 *   <li>{@code train}: one {@link Trainer} optimizer step (forward, next-token NLL, backward, global-norm clip,
 *       AdamW, NaN guard, metrics record) on the full model; the time between consecutive steps.</li>
 * </ul>
 * Each phase gets its own peak RSS ({@link Rss}). Decoding runs before training, as the weights then carry
 * no gradient buffers; with {@code profilePhase} set, that phase is also run under PyTorch's profiler.
 */
public final class JavaEngineBench {
    private final BenchConfig config;
    private final String profilePhase;

    public JavaEngineBench(BenchConfig config, String profilePhase) {
        this.config = config;
        this.profilePhase = profilePhase == null ? "" : profilePhase;
    }

    /** Measures every phase; the result has the schema bench_torch.py prints (side, settings, phases...). */
    public ObjectNode run() {
        Progress.Sink previous = Progress.sink();
        Progress.setSink(new Progress.Sink() {   // no console bars inside a measurement
            @Override public void update(Progress p) {}
            @Override public void finish(Progress p) {}
        });
        try {
            return measure();
        } finally {
            Progress.setSink(previous);
        }
    }

    /** The result's head (side, variant, thread settings, versions) with an empty {@code phases} object. */
    public static ObjectNode header() {
        Engine engine = Engine.getEngine("PyTorch");
        ObjectNode out = Jsonl.MAPPER.createObjectNode();
        out.put("side", "ctlab");
        out.put("variant", "LlamaModel (DJL " + Engine.getDjlVersion() + ", libtorch " + engine.getVersion() + ")");
        ObjectNode settings = out.putObject("settings");
        settings.put("intra_op_threads", JniUtils.getNumThreads());
        settings.put("interop_threads", JniUtils.getNumInteropThreads());
        for (String env : List.of("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")) settings.put(env, System.getenv(env));
        settings.put("optimizer", "ctlab.train.AdamW (per-tensor NDArray ops)");
        settings.put("kernels", System.getProperty("ctlab.kernels", "pure"));   // TorchScriptKernels.PROPERTY
        ObjectNode versions = out.putObject("versions");
        versions.put("java", System.getProperty("java.version"));
        versions.put("djl", Engine.getDjlVersion());
        versions.put("libtorch", engine.getVersion());
        out.putObject("phases");
        return out;
    }

    private ObjectNode measure() {
        ObjectNode out = header();
        ObjectNode phases = (ObjectNode) out.path("phases");
        ObjectNode profiles = Jsonl.MAPPER.createObjectNode();

        try (LlamaModel model = LlamaModel.random(config.llamaConfig(), config.seed(), 0.02, Device.cpu());
             NDManager data = NDManager.newBaseManager(Device.cpu())) {
            out.put("baseline_rss_mb", Rss.currentMb());
            SplittableRandom rng = new SplittableRandom(config.seed());
            int b = config.batch(), t = config.seq();

            NDArray ids = data.create(randomIds(rng, b * t), new Shape(b, t));          // (B, T) int64
            NDArray mask = data.ones(new Shape(b, t));                                  // (B, T)
            Runnable forward = () -> model.logits(ids, mask).close();                  // (B, T, V)
            phases.set("forward", timed("forward", forward, config.warmup(), config.iters(), (long) b * t, profiles));

            for (int db : config.decodeBatches()) {
                List<int[]> prompts = new ArrayList<>();
                for (int r = 0; r < db; r++) {
                    prompts.add(Arrays.stream(randomIds(rng, config.prompt())).mapToInt(v -> (int) v).toArray());
                }
                Runnable decode = () -> {
                    List<int[]> gen = Sampler.greedy(model, prompts, config.newTokens(), -1);
                    if (gen.get(0).length != config.newTokens()) throw new IllegalStateException("short generation");
                };
                String name = "decode_b" + db;
                phases.set(name, timed(name, decode, config.warmup(), config.decodeIters(), (long) db * config.newTokens(), profiles));
            }

            phases.set("train", train(model, rng, profiles));
        }
        if (!profiles.isEmpty()) out.set("profile", profiles);
        return out;
    }

    private ObjectNode timed(String name, Runnable fn, int warmup, int iters, long tokensPerIter, ObjectNode profiles) {
        if (name.equals(profilePhase)) profiles.set(name, profile(fn, warmup, iters));
        boolean phasePeak = Rss.resetPeak();
        for (int i = 0; i < warmup; i++) fn.run();
        double[] seconds = new double[iters];
        long cpu0 = cpuNanos();
        for (int i = 0; i < iters; i++) {
            long t0 = System.nanoTime();
            fn.run();
            seconds[i] = (System.nanoTime() - t0) / 1e9;
        }
        return phaseResult(seconds, (cpuNanos() - cpu0) / 1e9, warmup, tokensPerIter, phasePeak);
    }

    /** CPU time of this process, all threads (libtorch workers, JIT and GC included). */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    static ObjectNode phaseResult(double[] seconds, double cpuSeconds, int warmup, long tokensPerIter, boolean phasePeak) {
        double[] sorted = seconds.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        ObjectNode r = Jsonl.MAPPER.createObjectNode();
        r.put("tokens_per_s", tokensPerIter / sorted[0]);          // fastest iteration: load only slows
        r.put("tokens_per_s_median", tokensPerIter / median);
        r.put("median_s", median);
        r.put("min_s", sorted[0]);
        r.put("max_s", sorted[n - 1]);
        r.put("iters", n);
        r.put("warmup", warmup);
        r.put("tokens_per_iter", tokensPerIter);
        r.put("tokens_per_cpu_s", tokensPerIter * n / cpuSeconds);    // less sensitive to other load than wall time
        r.put("peak_rss_mb", Rss.peakMb());
        r.put("peak_rss_scope", phasePeak ? "phase" : "process");
        return r;
    }

    /** Runs fn under PyTorch's profiler (after its warmup) and summarises self time per op. */
    private ObjectNode profile(Runnable fn, int warmup, int iters) {
        for (int i = 0; i < warmup; i++) fn.run();
        Path trace;
        try {
            trace = Files.createTempFile("ctlab-bench-trace", ".json");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            JniUtils.startProfile(false, false, false);
            long t0 = System.nanoTime();
            for (int i = 0; i < iters; i++) fn.run();
            double wallMs = (System.nanoTime() - t0) / 1e6;
            JniUtils.stopProfile(trace.toString());
            return OpProfile.fromChromeTrace(trace).toJson(wallMs, iters);
        } finally {
            try { Files.deleteIfExists(trace); } catch (IOException ignored) { }
        }
    }

    /** Trainer steps on the full model; timed from one step's metrics record to the next. */
    private ObjectNode train(LlamaModel model, SplittableRandom rng, ObjectNode profiles) {
        int b = config.batch(), t = config.seq();
        List<long[]> batches = new ArrayList<>();
        for (int i = 0; i < 4; i++) batches.add(randomIds(rng, b * t));
        TrainingTask<long[]> task = new TrainingTask<>() {
            @Override public List<Param> params() { return model.trainableParameters(); }
            @Override public int numMicroBatches() { return batches.size(); }
            @Override public long[] microBatch(int index) { return batches.get(index); }
            @Override public NDArray loss(NDManager sm, long[] batch, Map<String, Double> metrics) {
                NDArray ids = sm.create(batch, new Shape(b, t));                          // (B, T) int64
                NDArray mask = sm.ones(new Shape(b, t));                                  // (B, T)
                return model.sequenceLogProbs(ids, mask).mean().neg();                    // scalar: mean NLL
            }
            @Override public long tokens(long[] batch) { return (long) b * t; }
        };
        int warmup = config.warmup(), iters = config.iters();
        Path dir;
        try {
            dir = Files.createTempDirectory("ctlab-bench-train");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            model.setTraining(true);
            if ("train".equals(profilePhase)) {
                // profile a separate short run: the profiler's own cost must not reach the timed steps
                Trainer warm = new Trainer(trainConfig(warmup));
                warm.fit(task, dir.resolve("warm"));
                JniUtils.startProfile(false, false, false);
                long t0 = System.nanoTime();
                new Trainer(trainConfig(iters)).fit(task, dir.resolve("profiled"));
                double wallMs = (System.nanoTime() - t0) / 1e6;
                Path trace = dir.resolve("trace.json");
                JniUtils.stopProfile(trace.toString());
                profiles.set("train", OpProfile.fromChromeTrace(trace).toJson(wallMs, iters));
            }
            boolean phasePeak = Rss.resetPeak();
            long[] stamps = new long[warmup + iters];
            long[] cpu = new long[warmup + iters];
            int[] calls = {0};
            new Trainer(trainConfig(warmup + iters))
                    .onMetrics(r -> {
                        stamps[calls[0]] = System.nanoTime();
                        cpu[calls[0]++] = cpuNanos();
                    })
                    .fit(task, dir.resolve("timed"));
            double[] seconds = new double[iters];
            for (int i = 0; i < iters; i++) seconds[i] = (stamps[warmup + i] - stamps[warmup + i - 1]) / 1e9;
            return phaseResult(seconds, (cpu[warmup + iters - 1] - cpu[warmup - 1]) / 1e9, warmup, (long) b * t, phasePeak);
        } finally {
            model.setTraining(false);
            deleteTree(dir);
        }
    }

    private TrainConfig trainConfig(int steps) {
        return TrainConfig.builder().lr(BenchConfig.LR).weightDecay(BenchConfig.WEIGHT_DECAY).maxGradNorm(1.0)
                .maxSteps(steps).logEvery(1).checkpointEvery(0).shuffle(false).seed(config.seed()).build();
    }

    private long[] randomIds(SplittableRandom rng, int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(config.vocab());
        return ids;
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp directory is harmless
        }
    }
}

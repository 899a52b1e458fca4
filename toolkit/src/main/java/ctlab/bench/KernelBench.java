package ctlab.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.io.Jsonl;
import ctlab.io.Progress;
import ctlab.model.LlamaModel;
import ctlab.model.Param;
import ctlab.model.TorchScriptKernels;
import ctlab.sample.Sampler;
import ctlab.train.TrainConfig;
import ctlab.train.Trainer;
import ctlab.train.TrainingTask;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The TorchScript kernel experiment (issue #12; {@code ctlab bench --kernels-ab}): the pure DJL path vs torch's
 * fused silu and scaled_dot_product_attention through {@link TorchScriptKernels}, in this one JVM with this
 * process's thread settings. The modes alternate iteration by iteration (pure, ts, ts, pure, pure, ts, ...), so a
 * change in other processes' load hits both alike; besides each mode's fastest and median iteration the report
 * gives the median of the paired ratios (pure time / ts time of the same iteration pair), the number that is
 * least sensitive to load on a shared machine.
 * <ul>
 *   <li>per op: silu(gate)·up on (B, T, I) and the attention core on (B, NH, T, D) with a causal bias, forward
 *       alone and forward + backward (through a GradientCollector); the decode-shaped attention (one query row per
 *       head over prompt + new-token keys, no bias) at batch 1 and the largest decode batch;</li>
 *   <li>end to end on one random bench model, as {@link JavaEngineBench} defines the phases: forward (B×T logits),
 *       decode_bN ({@link Sampler#greedy}), train (full-model {@link Trainer} steps, the mode switched between steps).</li>
 * </ul>
 */
public final class KernelBench {
    private static final TorchScriptKernels.Mode PURE = TorchScriptKernels.Mode.PURE;
    private static final TorchScriptKernels.Mode TS = TorchScriptKernels.Mode.TORCHSCRIPT;
    private static final TorchScriptKernels.Mode[] MODES = {PURE, TS};

    private KernelBench() {}

    /** Measures ops and phases with {@code rounds}× the configured iterations; progress to {@code log}. */
    public static ObjectNode run(BenchConfig c, int rounds, PrintStream log) {
        ObjectNode out = JavaEngineBench.header();
        out.remove("phases");
        out.put("experiment", "TorchScript kernels (silu, SDPA) through DJL vs the pure DJL path, iterations alternated");
        Progress.Sink previous = Progress.sink();
        Progress.setSink(new Progress.Sink() {   // no console bars inside a measurement
            @Override public void update(Progress p) {}
            @Override public void finish(Progress p) {}
        });
        try {
            log.println("kernels-ab: ops...");
            out.set("ops", ops(c, rounds));
            log.println("kernels-ab: engine phases...");
            out.set("phases", phases(c, rounds, log));
        } finally {
            Progress.setSink(previous);
        }
        return out;
    }

    // ------------------------------------------------------------------ per op

    private static ObjectNode ops(BenchConfig c, int rounds) {
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        int b = c.batch(), t = c.seq(), nh = c.heads(), nkv = c.kvHeads(), d = c.hidden() / c.heads(), inter = c.intermediate();
        int pairs = 5 * rounds;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            TorchScriptKernels ts = new TorchScriptKernels(m);
            NDArray gate = m.randomNormal(new Shape(b, t, inter)), up = m.randomNormal(new Shape(b, t, inter));
            o.set("silu_mul_fwd", op(mode -> siluMul(mode, ts, gate, up), 20, pairs));
            o.set("silu_mul_fwd_bwd", op(mode -> withBackward(() -> siluMul(mode, ts, gate, up), gate, up), 10, pairs));

            NDArray q = m.randomNormal(0, 0.2f, new Shape(b, nh, t, d), DataType.FLOAT32);
            NDArray k = m.randomNormal(0, 1, new Shape(b, nkv, t, d), DataType.FLOAT32);
            NDArray v = m.randomNormal(0, 1, new Shape(b, nkv, t, d), DataType.FLOAT32);
            NDArray pos = m.arange(0, t, 1, DataType.FLOAT32);
            NDArray causal = pos.reshape(1, t).lte(pos.reshape(t, 1)).toType(DataType.FLOAT32, false);  // (T, T) 1 = visible
            NDArray bias = causal.sub(1).mul(1e9f).reshape(1, 1, t, t).repeat(0, b);        // (B, 1, T, T) 0 / -1e9
            o.set("attention_fwd", op(mode -> attention(mode, ts, q, k, v, bias), 20, pairs));
            o.set("attention_fwd_bwd", op(mode -> withBackward(() -> attention(mode, ts, q, k, v, bias), q, k, v), 10, pairs));

            long s = c.prompt() + c.newTokens();
            int maxB = c.decodeBatches().stream().mapToInt(Integer::intValue).max().orElse(1);
            for (int db : new int[] {1, maxB}) {
                NDArray q1 = m.randomNormal(0, 0.2f, new Shape(db, nkv, nh / nkv, d), DataType.FLOAT32);  // (B, KV, G, D)
                NDArray k1 = m.randomNormal(new Shape(db, nkv, s, d)), v1 = m.randomNormal(new Shape(db, nkv, s, d));
                o.set("attention_decode_b" + db, op(mode -> attention(mode, ts, q1, k1, v1, null), 400, pairs));
            }
        }
        return o;
    }

    /** One timed unit = {@code calls} calls of fn (temporaries freed per call); result in µs per call. */
    private static ObjectNode op(java.util.function.Function<TorchScriptKernels.Mode, NDArray> fn, int calls, int pairs) {
        ObjectNode r = paired(mode -> {
            for (int i = 0; i < calls; i++) {
                try (NDScope scope = new NDScope()) {
                    fn.apply(mode);
                }
            }
        }, 1, pairs, 1);
        for (String key : List.of("pure", "torchscript")) {
            ObjectNode side = (ObjectNode) r.path(key);
            side.put("best_us", side.path("min_s").asDouble() * 1e6 / calls);
            side.put("median_us", side.path("median_s").asDouble() * 1e6 / calls);
        }
        return r;
    }

    private static NDArray siluMul(TorchScriptKernels.Mode mode, TorchScriptKernels ts, NDArray gate, NDArray up) {
        return mode == TS ? ts.siluMul(gate, up) : gate.mul(Activation.sigmoid(gate)).mul(up);  // LlamaModel's pure path
    }

    /** LlamaModel's pure attention core at NH = KV: softmax(q·kᵀ + bias)·v. */
    private static NDArray attention(TorchScriptKernels.Mode mode, TorchScriptKernels ts, NDArray q, NDArray k, NDArray v, NDArray bias) {
        if (mode == TS) return ts.attention(q, k, v, bias);
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2));
        if (bias != null) scores = scores.add(bias);
        return scores.softmax(-1).matMul(v);
    }

    /** fn under a GradientCollector with {@code inputs} requiring gradients, then backward of sum(fn). */
    private static NDArray withBackward(Supplier<NDArray> fn, NDArray... inputs) {
        for (NDArray a : inputs) a.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray y = fn.get();
            gc.backward(y.sum());
            return y;
        } finally {
            for (NDArray a : inputs) a.setRequiresGradient(false);
        }
    }

    // ------------------------------------------------------------------ end to end

    private static ObjectNode phases(BenchConfig c, int rounds, PrintStream log) {
        ObjectNode phases = Jsonl.MAPPER.createObjectNode();
        try (LlamaModel model = LlamaModel.random(c.llamaConfig(), c.seed(), 0.02, Device.cpu());
             NDManager data = NDManager.newBaseManager(Device.cpu())) {
            SplittableRandom rng = new SplittableRandom(c.seed());
            int b = c.batch(), t = c.seq();
            NDArray ids = data.create(randomIds(rng, b * t, c.vocab()), new Shape(b, t));     // (B, T) int64
            NDArray mask = data.ones(new Shape(b, t));                                       // (B, T)
            log.println("kernels-ab: forward");
            phases.set("forward", paired(mode -> {
                model.setKernels(mode);
                model.logits(ids, mask).close();
            }, c.warmup(), c.iters() * rounds, (long) b * t));
            for (int db : c.decodeBatches()) {
                List<int[]> prompts = new ArrayList<>();
                for (int r = 0; r < db; r++) {
                    prompts.add(Arrays.stream(randomIds(rng, c.prompt(), c.vocab())).mapToInt(v -> (int) v).toArray());
                }
                log.println("kernels-ab: decode_b" + db);
                phases.set("decode_b" + db, paired(mode -> {
                    model.setKernels(mode);
                    if (Sampler.greedy(model, prompts, c.newTokens(), -1).get(0).length != c.newTokens()) {
                        throw new IllegalStateException("short generation");
                    }
                }, c.warmup(), c.decodeIters() * rounds, (long) db * c.newTokens()));
            }
            log.println("kernels-ab: train");
            phases.set("train", train(model, rng, c, rounds));
        }
        return phases;
    }

    /** Full-model Trainer steps, the kernels switched between steps in the pairs' order; step time = metrics to metrics. */
    private static ObjectNode train(LlamaModel model, SplittableRandom rng, BenchConfig c, int rounds) {
        int b = c.batch(), t = c.seq(), pairs = c.iters() * rounds, warmupSteps = 2 * c.warmup() + 1;
        List<long[]> batches = new ArrayList<>();
        for (int i = 0; i < 4; i++) batches.add(randomIds(rng, b * t, c.vocab()));
        TrainingTask<long[]> task = new TrainingTask<>() {
            @Override public List<Param> params() { return model.trainableParameters(); }
            @Override public int numMicroBatches() { return batches.size(); }
            @Override public long[] microBatch(int index) { return batches.get(index); }
            @Override public NDArray loss(NDManager sm, long[] batch, Map<String, Double> metrics) {
                NDArray ids = sm.create(batch, new Shape(b, t));
                return model.sequenceLogProbs(ids, sm.ones(new Shape(b, t))).mean().neg();
            }
            @Override public long tokens(long[] batch) { return (long) b * t; }
        };
        int steps = warmupSteps + 2 * pairs;
        TorchScriptKernels.Mode[] order = new TorchScriptKernels.Mode[steps];
        for (int s = 0; s < steps; s++) order[s] = pairOrder(s < warmupSteps ? s : s - warmupSteps);
        long[] stamps = new long[steps], cpu = new long[steps];
        int[] calls = {0};
        Path dir;
        try {
            dir = Files.createTempDirectory("ctlab-kernels-ab");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            model.setTraining(true);
            model.setKernels(order[0]);
            TrainConfig tc = TrainConfig.builder().lr(BenchConfig.LR).weightDecay(BenchConfig.WEIGHT_DECAY).maxGradNorm(1.0)
                    .maxSteps(steps).logEvery(1).checkpointEvery(0).shuffle(false).seed(c.seed()).build();
            new Trainer(tc).onMetrics(r -> {
                int i = calls[0]++;
                stamps[i] = System.nanoTime();
                cpu[i] = JavaEngineBench.cpuNanos();
                if (i + 1 < steps) model.setKernels(order[i + 1]);
            }).fit(task, dir.resolve("run"));
        } finally {
            model.setTraining(false);
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a leftover temp directory is harmless
            }
        }
        double[][] sec = new double[2][pairs];
        double[] cpuSec = new double[2];
        int[] n = new int[2];
        for (int s = warmupSteps; s < steps; s++) {
            int k = order[s] == PURE ? 0 : 1;
            sec[k][n[k]++] = (stamps[s] - stamps[s - 1]) / 1e9;
            cpuSec[k] += (cpu[s] - cpu[s - 1]) / 1e9;
        }
        return summary(sec, cpuSec, (long) b * t);
    }

    // ------------------------------------------------------------------ timing

    /** Mode of the i-th timed unit: pure, ts, ts, pure, pure, ts, ... (each pair starts with the other mode). */
    private static TorchScriptKernels.Mode pairOrder(int i) {
        int pair = i / 2, pos = i % 2;
        return (pair % 2 == 0) == (pos == 0) ? PURE : TS;
    }

    /** warmup pairs untimed, then {@code pairs} timed pairs of fn(pure) / fn(ts) in alternating order. */
    private static ObjectNode paired(Consumer<TorchScriptKernels.Mode> fn, int warmup, int pairs, long tokensPerIter) {
        for (int i = 0; i < 2 * warmup; i++) fn.accept(pairOrder(i));
        double[][] sec = new double[2][pairs];
        double[] cpuSec = new double[2];
        for (int i = 0; i < 2 * pairs; i++) {
            TorchScriptKernels.Mode mode = pairOrder(i);
            int k = mode == PURE ? 0 : 1;
            long c0 = JavaEngineBench.cpuNanos(), t0 = System.nanoTime();
            fn.accept(mode);
            sec[k][i / 2] = (System.nanoTime() - t0) / 1e9;
            cpuSec[k] += (JavaEngineBench.cpuNanos() - c0) / 1e9;
        }
        return summary(sec, cpuSec, tokensPerIter);
    }

    /** Per mode: fastest/median time (and tokens/s); ratios ts vs pure (> 1: TorchScript faster). */
    private static ObjectNode summary(double[][] sec, double[] cpuSec, long tokensPerIter) {
        ObjectNode r = Jsonl.MAPPER.createObjectNode();
        String[] names = {"pure", "torchscript"};
        double[] min = new double[2], med = new double[2];
        for (int k = 0; k < 2; k++) {
            min[k] = Arrays.stream(sec[k]).min().orElseThrow();
            med[k] = median(sec[k]);
            ObjectNode side = r.putObject(names[k]);
            side.put("min_s", min[k]);
            side.put("median_s", med[k]);
            side.put("iters", sec[k].length);
            side.put("tokens_per_s", tokensPerIter / min[k]);
            side.put("tokens_per_s_median", tokensPerIter / med[k]);
            if (cpuSec[k] > 0) side.put("tokens_per_cpu_s", tokensPerIter * sec[k].length / cpuSec[k]);  // 0: below the clock's tick
        }
        double[] pairRatio = new double[sec[0].length];
        for (int i = 0; i < pairRatio.length; i++) pairRatio[i] = sec[0][i] / sec[1][i];
        r.put("ratio_best", min[0] / min[1]);
        r.put("ratio_median", med[0] / med[1]);
        r.put("ratio_paired_median", median(pairRatio));
        if (cpuSec[0] > 0 && cpuSec[1] > 0) {
            r.put("ratio_per_cpu_s", r.path("torchscript").path("tokens_per_cpu_s").asDouble()
                    / r.path("pure").path("tokens_per_cpu_s").asDouble());
        }
        return r;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static long[] randomIds(SplittableRandom rng, int n, int vocab) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(vocab);
        return ids;
    }

    /** The report: per op and phase, pure vs TorchScript (fastest, median) and the ratios (> 1: TorchScript faster). */
    public static String render(ObjectNode result) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("TorchScript kernels vs pure DJL path (%s; threads %s, OMP_WAIT_POLICY %s); iterations alternated%n",
                result.path("variant").asText(), result.path("settings").path("intra_op_threads").asText(),
                result.path("settings").path("OMP_WAIT_POLICY").asText("unset")));
        sb.append(String.format("%-22s %6s %23s %23s %8s %8s %8s %8s%n", "op / phase", "pairs", "pure best / median",
                "torchscript best / med", "best", "median", "paired", "per CPU"));
        for (String group : List.of("ops", "phases")) {
            var g = result.path(group);
            for (var it = g.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                var e = g.path(name);
                String unit = group.equals("ops") ? "µs" : "t/s";
                String p = group.equals("ops")
                        ? String.format("%9.1f / %9.1f %s", e.path("pure").path("best_us").asDouble(), e.path("pure").path("median_us").asDouble(), unit)
                        : String.format("%8.0f / %8.0f %s", e.path("pure").path("tokens_per_s").asDouble(), e.path("pure").path("tokens_per_s_median").asDouble(), unit);
                String f = group.equals("ops")
                        ? String.format("%9.1f / %9.1f %s", e.path("torchscript").path("best_us").asDouble(), e.path("torchscript").path("median_us").asDouble(), unit)
                        : String.format("%8.0f / %8.0f %s", e.path("torchscript").path("tokens_per_s").asDouble(), e.path("torchscript").path("tokens_per_s_median").asDouble(), unit);
                sb.append(String.format(Locale.ROOT, "%-22s %6d %23s %23s %7.2f× %7.2f× %7.2f× %7.2f×%n", name,
                        e.path("pure").path("iters").asInt(), p, f, e.path("ratio_best").asDouble(),
                        e.path("ratio_median").asDouble(), e.path("ratio_paired_median").asDouble(), e.path("ratio_per_cpu_s").asDouble()));
            }
        }
        sb.append("ratios: TorchScript speed / pure speed (> 1: TorchScript faster); paired = median over iteration pairs\n");
        return sb.toString();
    }
}

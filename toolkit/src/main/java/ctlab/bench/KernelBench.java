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
import ctlab.model.TorchScriptKernels;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The TorchScript kernel experiment (issue #12; {@code ctlab bench --kernels-ab}): the pure DJL path vs torch's
 * fused silu and scaled_dot_product_attention through {@link TorchScriptKernels}, side by side in this one JVM with
 * this process's thread settings, the modes interleaved within each round so a change in load hits both.
 * <ul>
 *   <li>per op: silu(gate)·up on (B, T, I) and the attention core on (B, NH, T, D) with a causal bias, forward
 *       alone and forward + backward (through a GradientCollector); the decode-shaped attention (one query row per
 *       head over S keys, no bias) at batch 1 and the largest decode batch;</li>
 *   <li>end to end: {@link JavaEngineBench}'s phases (forward, decode_bN, train) on the same random model.</li>
 * </ul>
 * Each number is the fastest timing of its round (load only slows); the ratio is TorchScript / pure tokens/s (or
 * pure / TorchScript time), > 1 means the kernels are faster.
 */
public final class KernelBench {
    private static final TorchScriptKernels.Mode[] MODES = {TorchScriptKernels.Mode.PURE, TorchScriptKernels.Mode.TORCHSCRIPT};

    private KernelBench() {}

    /**
     * Measures every round (with {@code profilePhase}, that engine phase also under libtorch's profiler); prints
     * progress to {@code log}; returns {rounds: [{pure|torchscript: {ops, phases[, profile]}}]}.
     */
    public static ObjectNode run(BenchConfig config, int rounds, String profilePhase, PrintStream log) {
        ObjectNode out = JavaEngineBench.header();
        out.remove("phases");
        out.put("experiment", "TorchScript kernels (silu, SDPA) through DJL vs the pure DJL path");
        var arr = out.putArray("rounds");
        for (int r = 0; r < rounds; r++) {
            ObjectNode round = arr.addObject();
            for (TorchScriptKernels.Mode mode : MODES) {
                String key = mode.name().toLowerCase(Locale.ROOT);
                log.printf("round %d, %s: ops...%n", r + 1, key);
                ObjectNode m = round.putObject(key);
                m.set("ops", ops(config, mode));
                log.printf("round %d, %s: engine phases...%n", r + 1, key);
                ObjectNode engine = new JavaEngineBench(config, profilePhase, mode).run();
                m.set("phases", engine.path("phases"));
                if (engine.has("profile")) m.set("profile", engine.path("profile"));
            }
        }
        return out;
    }

    /** Per-op microseconds per call (fastest of several timed loops), for one mode. */
    private static ObjectNode ops(BenchConfig c, TorchScriptKernels.Mode mode) {
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        int b = c.batch(), t = c.seq(), nh = c.heads(), nkv = c.kvHeads(), d = c.hidden() / c.heads(), inter = c.intermediate();
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            TorchScriptKernels ts = mode == TorchScriptKernels.Mode.TORCHSCRIPT ? new TorchScriptKernels(m) : null;
            NDArray gate = m.randomNormal(new Shape(b, t, inter)), up = m.randomNormal(new Shape(b, t, inter));
            o.put("silu_mul_fwd_us", time(() -> siluMul(ts, gate, up), 20));
            o.put("silu_mul_fwd_bwd_us", time(() -> withBackward(() -> siluMul(ts, gate, up), gate, up), 10));

            NDArray q = m.randomNormal(0, 0.2f, new Shape(b, nh, t, d), DataType.FLOAT32);
            NDArray k = m.randomNormal(0, 1, new Shape(b, nkv, t, d), DataType.FLOAT32);
            NDArray v = m.randomNormal(0, 1, new Shape(b, nkv, t, d), DataType.FLOAT32);
            NDArray pos = m.arange(0, t, 1, DataType.FLOAT32);
            NDArray causal = pos.reshape(1, t).lte(pos.reshape(t, 1)).toType(DataType.FLOAT32, false);  // (T, T) 1 = visible
            NDArray bias = causal.sub(1).mul(1e9f).reshape(1, 1, t, t).repeat(0, b);        // (B, 1, T, T) 0 / -1e9
            o.put("attention_fwd_us", time(() -> attention(ts, q, k, v, bias), 20));
            o.put("attention_fwd_bwd_us", time(() -> withBackward(() -> attention(ts, q, k, v, bias), q, k, v), 10));

            long s = c.prompt() + c.newTokens();
            int maxB = c.decodeBatches().stream().mapToInt(Integer::intValue).max().orElse(1);
            for (int db : new int[] {1, maxB}) {
                NDArray q1 = m.randomNormal(0, 0.2f, new Shape(db, nkv, nh / nkv, d), DataType.FLOAT32);  // (B, KV, G, D)
                NDArray k1 = m.randomNormal(new Shape(db, nkv, s, d)), v1 = m.randomNormal(new Shape(db, nkv, s, d));
                o.put("attention_decode_b" + db + "_us", time(() -> attention(ts, q1, k1, v1, null), 400));
            }
        }
        return o;
    }

    private static NDArray siluMul(TorchScriptKernels ts, NDArray gate, NDArray up) {
        return ts != null ? ts.siluMul(gate, up) : gate.mul(Activation.sigmoid(gate)).mul(up);  // LlamaModel's pure path
    }

    /** LlamaModel's pure attention core at NH = KV: softmax(q·kᵀ + bias)·v. */
    private static NDArray attention(TorchScriptKernels ts, NDArray q, NDArray k, NDArray v, NDArray bias) {
        if (ts != null) return ts.attention(q, k, v, bias);
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

    /** Fastest mean µs per call over 5 loops of {@code n} calls (after one untimed loop); temporaries freed per call. */
    private static double time(Supplier<NDArray> fn, int n) {
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 6; rep++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                try (NDScope scope = new NDScope()) {
                    fn.get();
                }
            }
            double us = (System.nanoTime() - t0) / 1e3 / n;
            if (rep > 0) best = Math.min(best, us);
        }
        return best;
    }

    /** The report: per round, pure vs TorchScript per op and phase, and the ratio (> 1: TorchScript faster). */
    public static String render(ObjectNode result) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("TorchScript kernels vs pure DJL path (%s; threads %s, OMP_WAIT_POLICY %s)%n",
                result.path("variant").asText(), result.path("settings").path("intra_op_threads").asText(),
                result.path("settings").path("OMP_WAIT_POLICY").asText("unset")));
        sb.append(String.format("%-26s %5s %14s %14s %8s%n", "op / phase", "round", "pure", "torchscript", "ratio"));
        int r = 0;
        for (var round : result.path("rounds")) {
            r++;
            var pure = round.path("pure");
            var ts = round.path("torchscript");
            for (var e : iterable(pure.path("ops").fieldNames())) {
                double p = pure.path("ops").path(e).asDouble(), f = ts.path("ops").path(e).asDouble();
                sb.append(String.format("%-26s %5d %11.1f µs %11.1f µs %7.2f×%n", e.replace("_us", ""), r, p, f, p / f));
            }
            for (var e : iterable(pure.path("phases").fieldNames())) {
                double p = pure.path("phases").path(e).path("tokens_per_s").asDouble();
                double f = ts.path("phases").path(e).path("tokens_per_s").asDouble();
                double pc = pure.path("phases").path(e).path("tokens_per_cpu_s").asDouble();
                double fc = ts.path("phases").path(e).path("tokens_per_cpu_s").asDouble();
                sb.append(String.format("%-26s %5d %10.0f t/s %10.0f t/s %7.2f×   per CPU-s %7.2f×%n", e, r, p, f, f / p, fc / pc));
            }
        }
        return sb.toString();
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> it) {
        return () -> it;
    }
}

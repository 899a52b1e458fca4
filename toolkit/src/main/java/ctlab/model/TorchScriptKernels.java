package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ctlab.CtlabException;

import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;

/**
 * The kernels DJL 0.36 does not bind ({@code silu}, {@code scaled_dot_product_attention}) as tiny TorchScript
 * modules shipped in the jar ({@code ctlab/model/kernels/*.pt}, written by {@code tools/torchscript/make_kernels.py}
 * with the JNI's torch version) and run through DJL's {@code IValueUtils.forward(block, inputs, isTrain = true)}.
 *
 * <p>Why {@code isTrain = true}: with false the JNI runs the module under {@code c10::InferenceMode}, which records
 * no autograd; with true it runs under the caller's grad mode, so a {@code GradientCollector} records through
 * the kernel into LoRA/base parameters like any other op (and inference, where DJL keeps grad mode off, records
 * nothing). The TorchScript graph executor's optimizer is switched off on each calling thread (the setting is
 * thread-local in torch): it would profile and re-specialise the graph for every new shape (decode changes the
 * key length each step) and could replace autograd's formulas with its own.
 *
 * <p>Which path the model uses: {@link Mode}, from the system property {@value #PROPERTY} ({@code pure}, the
 * default, or {@code torchscript}), or per model with {@link LlamaModel#setKernels}; the model calls the kernels
 * for passes over more than one token only (decode steps stay pure). Measured in BENCHMARKS.md ("TorchScript
 * kernels (silu, SDPA) through DJL"); {@code ctlab bench --kernels-ab} repeats the measurement.
 */
public final class TorchScriptKernels {
    /** System property choosing the default kernels of new models: {@code pure} or {@code torchscript}. */
    static final String PROPERTY = "ctlab.kernels";

    /** The engine's kernel choice for SiLU·up and the attention core. */
    public enum Mode {
        /** DJL ops only: x·sigmoid(x), two batched matmuls + bias + softmax. */
        PURE,
        /** torch's fused {@code silu} and {@code scaled_dot_product_attention} through TorchScript modules. */
        TORCHSCRIPT;

        /** The mode named by {@value #PROPERTY}, {@link #PURE} when unset. */
        public static Mode fromProperty() {
            String p = System.getProperty(PROPERTY);
            return p == null || p.isBlank() ? PURE : parse(p, "-D" + PROPERTY);
        }

        /** pure | torchscript (case-insensitive); anything else is a one-line input error naming {@code where}. */
        public static Mode parse(String name, String where) {
            return switch (name.trim().toLowerCase(Locale.ROOT)) {
                case "pure" -> PURE;
                case "torchscript" -> TORCHSCRIPT;
                default -> throw new CtlabException(where + ": unknown kernels '" + name + "' (expected pure or torchscript)");
            };
        }
    }

    private static final String RESOURCE_DIR = "/ctlab/model/kernels/";
    private static final ThreadLocal<Boolean> OPTIMIZER_OFF = ThreadLocal.withInitial(() -> false);

    private final PtSymbolBlock siluMul;
    private final PtSymbolBlock sdpa;
    private final PtSymbolBlock sdpaBias;

    /** Loads the modules into {@code manager} (they are closed with it). */
    public TorchScriptKernels(NDManager manager) {
        PtNDManager m = (PtNDManager) manager;
        siluMul = load(m, "silu_mul.pt");
        sdpa = load(m, "sdpa.pt");
        sdpaBias = load(m, "sdpa_bias.pt");
    }

    private static PtSymbolBlock load(PtNDManager manager, String name) {
        try (InputStream in = TorchScriptKernels.class.getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) throw new IllegalStateException("kernel resource " + RESOURCE_DIR + name + " missing from the jar");
            return JniUtils.loadModule(manager, in, true, false);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read kernel resource " + RESOURCE_DIR + name, e);
        }
    }

    /** silu(gate) · up, elementwise; result on gate's manager. */
    public NDArray siluMul(NDArray gate, NDArray up) {
        return run(siluMul, gate, up);
    }

    /**
     * softmax(q·kᵀ + bias)·v with q already scaled by 1/√D; k and v are repeated per group when q has more heads.
     *
     * @param q    (B, NH, L, D), or (B, KV, G, D) for one query position
     * @param k    (B, KV, S, D)
     * @param v    (B, KV, S, D)
     * @param bias additive, broadcastable to (B, NH, L, S), or null when every key is visible
     * @return (B, NH, L, D) on q's manager
     */
    public NDArray attention(NDArray q, NDArray k, NDArray v, NDArray bias) {
        return bias == null ? run(sdpa, q, k, v) : run(sdpaBias, q, k, v, bias);
    }

    private static NDArray run(PtSymbolBlock block, NDArray... inputs) {
        if (!OPTIMIZER_OFF.get()) {
            JniUtils.setGraphExecutorOptimize(false);
            OPTIMIZER_OFF.set(true);
        }
        // IValueUtils reads NDArray names as list/tuple/dict markers: only unnamed activations may go in
        for (NDArray a : inputs) {
            if (a.getName() != null) throw new IllegalStateException("kernel input has a name: " + a.getName());
        }
        // outputs attach to the first input's manager, as every op in LlamaModel
        return IValueUtils.forward(block, new NDList(inputs), true).singletonOrThrow();
    }
}

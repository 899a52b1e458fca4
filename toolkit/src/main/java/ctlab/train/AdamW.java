package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ctlab.CtlabException;
import ctlab.model.Param;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * AdamW (Loshchilov &amp; Hutter 2019, Algorithm 2) written to match {@code torch.optim.AdamW}
 * (single-tensor path, fp32) update for update:
 * <pre>
 *   p   ← p · (1 − lr·wd)                       (decoupled decay; skipped for weightDecay=false params)
 *   m   ← m + (1 − β1)(g − m)                   (torch: exp_avg.lerp_(g, 1 − β1))
 *   v   ← β2·v + (1 − β2)·g²
 *   p   ← p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + ε)
 * </pre>
 * ε is added after the bias-corrected square root, as torch does (not inside the root).
 *
 * <p>Why hand-written: DJL's native {@code Optimizer.adamW()} went NaN in 3 of 6 runs on a tiny model
 * (and reached a worse loss, 2.52 vs 1.81) where PyTorch with the same hyper-parameters never did; this
 * class is checked against recorded {@code torch.optim.AdamW} steps to 1e-6 (AdamWGoldenTest).
 *
 * <p>Layout: the moments live in two flat fp32 buffers covering all parameters (plus a flat gradient and a flat
 * update buffer), so the moment arithmetic is ~12 ops per step instead of ~10 per parameter; each parameter
 * then takes its decay and its update slice in place. Element by element the arithmetic is the per-parameter
 * one, so the numbers are unchanged. Constant factors are 0-d tensors made once by torch ({@link Scalars}).
 *
 * <p>Memory: the buffers are created lazily on the first step in this optimizer's own long-lived manager
 * (never in a per-step manager or NDScope); every temporary of a step lives in a scratch sub-manager closed
 * at the end of the step; parameters are updated in place.
 */
public final class AdamW implements AutoCloseable {
    private final List<Param> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final NDManager stateManager;
    private final long[] offsets;      // parameter i covers [offsets[i], offsets[i + 1]) of the flat buffers
    private NDArray expAvgFlat;        // (N) first moments of all parameters
    private NDArray expAvgSqFlat;      // (N) second moments
    private NDArray updateFlat;        // (N) this step's update, step_size · m / denom
    private NDArray[] expAvg;          // per parameter, views of expAvgFlat in the parameter's shape
    private NDArray[] expAvgSq;
    private NDArray[] update;
    private NDArray oneMinusBeta1, beta2Scalar, oneMinusBeta2, epsScalar;
    private int stepCount;

    public AdamW(List<Param> params, double beta1, double beta2, double eps, double weightDecay) {
        if (params.isEmpty()) throw new IllegalArgumentException("AdamW needs at least one parameter");
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1): " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1): " + beta2);
        if (!(eps > 0)) throw new IllegalArgumentException("eps must be > 0: " + eps);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weightDecay must be >= 0: " + weightDecay);
        Set<String> names = new HashSet<>();
        for (Param p : params) {
            if (!names.add(p.name())) throw new IllegalArgumentException("duplicate parameter name " + p.name());
            if (p.array().getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("AdamW updates fp32 parameters only; " + p.name() + " is "
                        + p.array().getDataType());
            }
        }
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.stateManager = NDManager.newBaseManager(params.get(0).array().getDevice());
        this.stateManager.setName("adamw-state");
        this.offsets = new long[params.size() + 1];
        for (int i = 0; i < params.size(); i++) offsets[i + 1] = offsets[i] + params.get(i).array().getShape().size();
    }

    public List<Param> params() { return params; }

    /** Optimizer steps taken so far (torch's per-parameter {@code state['step']}, shared by all here). */
    public int stepCount() { return stepCount; }

    /**
     * One update with learning rate {@code lr}; {@code grads.get(i)} is the gradient of {@code params().get(i)}
     * (already clipped). Gradients are only read.
     */
    public void step(double lr, List<NDArray> grads) {
        if (grads.size() != params.size()) {
            throw new IllegalArgumentException(grads.size() + " gradients for " + params.size() + " parameters");
        }
        stepCount++;
        // Scalars as torch computes them: in double, cast to fp32 when applied to an fp32 tensor. StrictMath:
        // Math.pow may differ by an ulp between interpreter and JIT, and Adam amplifies such noise.
        double biasCorrection1 = 1 - StrictMath.pow(beta1, stepCount);
        double biasCorrection2Sqrt = Math.sqrt(1 - StrictMath.pow(beta2, stepCount));
        double stepSize = lr / biasCorrection1;
        ensureState();
        NDArray m = expAvgFlat, v = expAvgSqFlat;
        try (NDManager scratch = stateManager.newSubManager()) {        // this step's temporaries
            NDList flat = new NDList(grads.size());
            for (NDArray g : grads) flat.add(own(scratch, g.reshape(-1)));
            NDArray g = own(scratch, NDArrays.concat(flat, 0));                  // (N) all gradients
            m.addi(own(scratch, g.sub(m)).muli(oneMinusBeta1));                 // m += (1-β1)(g - m)
            v.muli(beta2Scalar).addi(own(scratch, g.mul(oneMinusBeta2)).muli(g));  // v = β2 v + (1-β2) g²
            NDArray denom = own(scratch, v.sqrt()).divi(scalar(scratch, biasCorrection2Sqrt)).addi(epsScalar);
            updateFlat.set(ALL, m);
            updateFlat.divi(denom).muli(scalar(scratch, stepSize));             // step_size · m / denom
            NDArray decay = weightDecay != 0 ? scalar(scratch, 1 - lr * weightDecay) : null;
            for (int i = 0; i < params.size(); i++) {
                NDArray w = params.get(i).array();
                if (decay != null && params.get(i).weightDecay()) w.muli(decay);
                w.subi(update[i]);
            }
        }
    }

    private static final NDIndex ALL = new NDIndex("...");

    /** A 0-d fp32 constant made by torch (not a Java buffer), owned by {@code m}. */
    private static NDArray scalar(NDManager m, double value) {
        return m.full(new Shape(), (float) value, DataType.FLOAT32);
    }

    private static NDArray own(NDManager scratch, NDArray temp) {
        temp.attach(scratch);   // results attach to the first operand's manager; move temporaries to scratch
        return temp;
    }

    /** Creates the flat buffers (zeros) and their per-parameter views, once. */
    private void ensureState() {
        if (expAvgFlat != null) return;
        long n = offsets[params.size()];
        expAvgFlat = stateManager.zeros(new Shape(n), DataType.FLOAT32);
        expAvgSqFlat = stateManager.zeros(new Shape(n), DataType.FLOAT32);
        updateFlat = stateManager.zeros(new Shape(n), DataType.FLOAT32);
        expAvg = views(expAvgFlat);
        expAvgSq = views(expAvgSqFlat);
        update = views(updateFlat);
        oneMinusBeta1 = scalar(stateManager, 1 - beta1);
        beta2Scalar = scalar(stateManager, beta2);
        oneMinusBeta2 = scalar(stateManager, 1 - beta2);
        epsScalar = scalar(stateManager, eps);
    }

    /** Per-parameter views (parameter shapes) of a flat buffer: slices of one storage, no copies. */
    private NDArray[] views(NDArray flat) {
        NDArray[] out = new NDArray[params.size()];
        for (int i = 0; i < out.length; i++) {
            try (NDArray slice = JniUtils.slice((PtNDArray) flat, 0, offsets[i], offsets[i + 1], 1)) {
                out[i] = slice.reshape(params.get(i).array().getShape());
            }
        }
        return out;
    }

    /**
     * The moment buffers as named arrays ({@code <param>.exp_avg}, {@code <param>.exp_avg_sq}) for a
     * checkpoint; buffers not yet created (no step taken) are omitted. The arrays stay owned by the optimizer.
     */
    public NDList stateArrays() {
        NDList out = new NDList();
        for (int i = 0; i < params.size(); i++) {
            if (expAvg == null) break;
            expAvg[i].setName(params.get(i).name() + ".exp_avg");
            expAvgSq[i].setName(params.get(i).name() + ".exp_avg_sq");
            out.add(expAvg[i]);
            out.add(expAvgSq[i]);
        }
        return out;
    }

    /**
     * Restores the step count and moment buffers saved by {@link #stateArrays()}; {@code source} names the
     * file for error messages. Every parameter must have both buffers with its shape when {@code stepCount > 0}.
     */
    public void loadState(int stepCount, NDList saved, String source) {
        Map<String, NDArray> byName = new LinkedHashMap<>();
        for (NDArray a : saved) byName.put(a.getName(), a);
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < params.size() && stepCount > 0; i++) {
            Param p = params.get(i);
            for (String suffix : new String[] {".exp_avg", ".exp_avg_sq"}) {
                NDArray a = byName.remove(p.name() + suffix);
                if (a == null) problems.add("missing " + p.name() + suffix);
                else if (!a.getShape().equals(p.array().getShape()) || a.getDataType() != DataType.FLOAT32) {
                    problems.add(p.name() + suffix + " is " + a.getDataType() + a.getShape()
                            + ", parameter is " + p.array().getShape());
                }
            }
        }
        if (stepCount > 0 && !byName.isEmpty()) problems.add("unknown tensors " + byName.keySet());
        if (!problems.isEmpty()) throw new CtlabException(source + ": optimizer state does not fit the parameters: " + problems);
        byName.clear();
        for (NDArray a : saved) byName.put(a.getName(), a);
        this.stepCount = stepCount;
        for (int i = 0; i < params.size(); i++) {
            if (stepCount == 0) continue;
            ensureState();
            Checkpoint.copyInto(expAvg[i], byName.get(params.get(i).name() + ".exp_avg"));
            Checkpoint.copyInto(expAvgSq[i], byName.get(params.get(i).name() + ".exp_avg_sq"));
        }
    }

    @Override public void close() { stateManager.close(); }
}

package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
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
 * <p>Memory: moment buffers are created lazily on the first step in this optimizer's own long-lived
 * manager (never in a per-step manager or NDScope); every temporary of a step lives in a scratch
 * sub-manager closed at the end of the step; parameters are updated in place.
 */
public final class AdamW implements AutoCloseable {
    private final List<Param> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final NDManager stateManager;
    private final NDArray[] expAvg;
    private final NDArray[] expAvgSq;
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
        this.expAvg = new NDArray[params.size()];
        this.expAvgSq = new NDArray[params.size()];
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
        for (int i = 0; i < params.size(); i++) {
            Param p = params.get(i);
            NDArray w = p.array();
            NDArray g = grads.get(i);
            ensureState(i, w);
            NDArray m = expAvg[i];
            NDArray v = expAvgSq[i];
            try (NDManager scratch = stateManager.newSubManager()) {    // this parameter's temporaries
                if (p.weightDecay() && weightDecay != 0) w.muli(1 - lr * weightDecay);
                m.addi(own(scratch, g.sub(m)).muli(1 - beta1));                    // m += (1-β1)(g - m)
                v.muli(beta2).addi(own(scratch, g.mul(1 - beta2)).muli(g));        // v = β2 v + (1-β2) g²
                NDArray denom = own(scratch, v.sqrt()).divi(biasCorrection2Sqrt).addi(eps);
                w.subi(own(scratch, m.div(denom)).muli(stepSize));
            }
        }
    }

    private static NDArray own(NDManager scratch, NDArray temp) {
        temp.attach(scratch);   // results attach to the first operand's manager; move temporaries to scratch
        return temp;
    }

    private void ensureState(int i, NDArray w) {
        if (expAvg[i] != null) return;
        expAvg[i] = stateManager.zeros(w.getShape(), DataType.FLOAT32);
        expAvgSq[i] = stateManager.zeros(w.getShape(), DataType.FLOAT32);
    }

    /**
     * The moment buffers as named arrays ({@code <param>.exp_avg}, {@code <param>.exp_avg_sq}) for a
     * checkpoint; buffers not yet created (no step taken) are omitted. The arrays stay owned by the optimizer.
     */
    public NDList stateArrays() {
        NDList out = new NDList();
        for (int i = 0; i < params.size(); i++) {
            if (expAvg[i] == null) continue;
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
            ensureState(i, params.get(i).array());
            Checkpoint.copyInto(expAvg[i], byName.get(params.get(i).name() + ".exp_avg"));
            Checkpoint.copyInto(expAvgSq[i], byName.get(params.get(i).name() + ".exp_avg_sq"));
        }
    }

    @Override public void close() { stateManager.close(); }
}

package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import java.util.List;

/**
 * Global-norm gradient clipping with {@code torch.nn.utils.clip_grad_norm_} semantics: the L2 norm over
 * all gradients together, and every gradient scaled in place by {@code min(1, maxNorm / (norm + 1e-6))}.
 * Hand-written because DJL's {@code optClipGrad} clips element-wise, which changes the update direction.
 */
public final class GradClip {
    private GradClip() {}

    /** L2 norm of all gradients taken together (fp32 per-tensor norms combined in double). */
    public static double globalNorm(List<NDArray> grads) {
        if (grads.isEmpty()) return 0;
        float[] norms;
        try (NDManager tmp = grads.get(0).getManager().newSubManager()) {
            NDList each = new NDList(grads.size());
            for (NDArray g : grads) {
                NDArray n = g.norm();               // () scalar, attached to g's manager: move it to tmp
                n.attach(tmp);
                each.add(n.reshape(1));
            }
            norms = NDArrays.concat(each, 0).toFloatArray();  // one host copy for all the per-tensor norms
        }
        double sumSquares = 0;
        for (float v : norms) sumSquares += (double) v * v;
        return (float) Math.sqrt(sumSquares);        // torch returns the norm as an fp32 tensor
    }

    /**
     * Scales {@code grads} in place so their global norm is at most {@code maxNorm}; returns the norm before
     * clipping (for logging and the NaN/Inf guard). {@code maxNorm <= 0} only measures. A non-finite norm
     * leaves the gradients untouched: the trainer stops on it instead of stepping.
     */
    public static double clipGlobalNorm(List<NDArray> grads, double maxNorm) {
        double norm = globalNorm(grads);
        if (maxNorm <= 0 || !Double.isFinite(norm)) return norm;
        float coef = (float) ((float) maxNorm / ((float) norm + 1e-6f));
        if (coef < 1f) {
            for (NDArray g : grads) g.muli(coef);
        }
        return norm;
    }
}

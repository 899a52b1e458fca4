package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Tensor-by-scalar ops that are safe to back-propagate through. Use these instead of DJL's
 * {@code x.mul(Number)}, {@code x.div(Number)}, {@code x.pow(Number)} (and {@code maximum/minimum(Number)})
 * anywhere a GradientCollector may be recording.
 *
 * <p>Why: DJL 0.36's PyTorch engine turns the Number into a 0-d tensor with {@code NDManager.create(Number)},
 * which wraps a Java direct ByteBuffer through {@code torch::from_blob} (torch does not own the memory), runs
 * the op, and closes that tensor at once. Autograd has saved it for the backward pass (d(x·s)/dx = s,
 * d(x/s)/dx = 1/s, d(x^s)/dx = s·x^(s−1)), but nothing in Java references the buffer any more: when a
 * garbage collection runs between forward and backward, the JDK's Cleaner frees it and the backward pass reads
 * freed memory. The gradient is then silently wrong (we saw 1.4e-45 instead of 3 for d(3x)/dx), and runs
 * with the same seed part ways at whichever step the first GC lands on. {@code add/sub(Number)} are not
 * affected (their backward does not read the other operand).
 *
 * <p>Here the scalar is made by torch itself ({@code torch::full}), so the tensor autograd keeps owns its
 * memory. Values are applied as fp32 like DJL's path does for fp32 tensors, so the numbers are unchanged.
 */
public final class Scalars {
    private Scalars() {}

    /** A 0-d tensor holding {@code value} (as fp32 for fp32 {@code like}) in torch-owned memory, on like's manager. */
    public static NDArray of(NDArray like, double value) {
        return like.getManager().full(new Shape(), (float) value, like.getDataType());
    }

    /** {@code x * value}; result on x's manager. */
    public static NDArray mul(NDArray x, double value) {
        try (NDArray s = of(x, value)) {
            return x.mul(s);
        }
    }

    /** {@code x / value}; result on x's manager. */
    public static NDArray div(NDArray x, double value) {
        try (NDArray s = of(x, value)) {
            return x.div(s);
        }
    }

    /** {@code x ^ value}; result on x's manager. */
    public static NDArray pow(NDArray x, double value) {
        try (NDArray s = of(x, value)) {
            return x.pow(s);
        }
    }
}

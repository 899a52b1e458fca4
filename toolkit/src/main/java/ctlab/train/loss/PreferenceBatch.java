package ctlab.train.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * One batch of per-token inputs for a {@link PreferenceLoss}. Every tensor is response-aligned: column t is the
 * t-th token of that row's response (prompt tokens are not included), padded on the right and masked. Chosen
 * and rejected tensors may have different widths (T⁺ and T⁻). All float32.
 *
 * <p>Log-probs are log π(y_t | x, y_&lt;t) from the shared per-token log-prob function of the engine; the
 * reference ones are treated as constants (their gradient is stopped). Only {@code sft} may leave the rejected
 * and reference tensors null.
 *
 * @param policyChosen      (B, T⁺) log π_θ of the chosen tokens
 * @param policyRejected    (B, T⁻) log π_θ of the rejected tokens
 * @param referenceChosen   (B, T⁺) log π_ref of the chosen tokens
 * @param referenceRejected (B, T⁻) log π_ref of the rejected tokens
 * @param chosenMask        (B, T⁺) 1 for a real response token, 0 for padding
 * @param rejectedMask      (B, T⁻)
 * @param chosenWeights     (B, T⁺) CE score s⁺_t of each chosen token, or null
 * @param rejectedWeights   (B, T⁻) CE score s⁻_t of each rejected token, or null
 * @param chosenKl          (B, T⁺) KL(π_ref(·|prefix) ‖ π_θ(·|prefix)) at each chosen position ({@link SequenceKl}), or null
 * @param rejectedKl        (B, T⁻) the same on the rejected side, or null
 * @param officialPositions only for {@code cdpo-official}: the number of label positions per row of the official
 *                          trainer's padded (prompt + response) grid, i.e. padded sequence length − 1; its mean runs
 *                          over all of them. Null means the response-aligned width max(T⁺, T⁻).
 */
public record PreferenceBatch(NDArray policyChosen, NDArray policyRejected,
                              NDArray referenceChosen, NDArray referenceRejected,
                              NDArray chosenMask, NDArray rejectedMask,
                              NDArray chosenWeights, NDArray rejectedWeights,
                              NDArray chosenKl, NDArray rejectedKl,
                              Integer officialPositions) {

    public PreferenceBatch {
        requireMatrix("policyChosen", policyChosen);
        requireMatrix("chosenMask", chosenMask);
        Shape chosen = policyChosen.getShape();
        requireShape("chosenMask", chosenMask, chosen);
        requireShapeIfPresent("referenceChosen", referenceChosen, chosen);
        requireShapeIfPresent("chosenWeights", chosenWeights, chosen);
        requireShapeIfPresent("chosenKl", chosenKl, chosen);
        if (policyRejected != null) {
            requireMatrix("policyRejected", policyRejected);
            Shape rejected = policyRejected.getShape();
            if (rejected.get(0) != chosen.get(0))
                throw new IllegalArgumentException("batch sizes differ: chosen " + chosen + ", rejected " + rejected);
            requireShape("rejectedMask", rejectedMask, rejected);
            requireShapeIfPresent("referenceRejected", referenceRejected, rejected);
            requireShapeIfPresent("rejectedWeights", rejectedWeights, rejected);
            requireShapeIfPresent("rejectedKl", rejectedKl, rejected);
        }
        if (officialPositions != null && officialPositions < Math.max(chosen.get(1), widthOrZero(policyRejected)))
            throw new IllegalArgumentException("officialPositions " + officialPositions
                    + " is smaller than the response width");
    }

    /** A full preference batch without optional inputs. */
    public static PreferenceBatch of(NDArray policyChosen, NDArray policyRejected, NDArray referenceChosen,
                                     NDArray referenceRejected, NDArray chosenMask, NDArray rejectedMask) {
        return new PreferenceBatch(policyChosen, policyRejected, referenceChosen, referenceRejected,
                chosenMask, rejectedMask, null, null, null, null, null);
    }

    /** An SFT batch: chosen log-probs and mask only. */
    public static PreferenceBatch sft(NDArray policyChosen, NDArray chosenMask) {
        return new PreferenceBatch(policyChosen, null, null, null, chosenMask, null, null, null, null, null, null);
    }

    public PreferenceBatch withWeights(NDArray chosen, NDArray rejected) {
        return new PreferenceBatch(policyChosen, policyRejected, referenceChosen, referenceRejected, chosenMask,
                rejectedMask, chosen, rejected, chosenKl, rejectedKl, officialPositions);
    }

    public PreferenceBatch withKl(NDArray chosen, NDArray rejected) {
        return new PreferenceBatch(policyChosen, policyRejected, referenceChosen, referenceRejected, chosenMask,
                rejectedMask, chosenWeights, rejectedWeights, chosen, rejected, officialPositions);
    }

    public PreferenceBatch withOfficialPositions(Integer positions) {
        return new PreferenceBatch(policyChosen, policyRejected, referenceChosen, referenceRejected, chosenMask,
                rejectedMask, chosenWeights, rejectedWeights, chosenKl, rejectedKl, positions);
    }

    public long batchSize() { return policyChosen.getShape().get(0); }

    /** Throws when a preference loss is given a batch without the rejected/reference tensors. */
    void requirePreferenceInputs(String type) {
        if (policyRejected == null || referenceChosen == null || referenceRejected == null)
            throw new IllegalArgumentException("loss '" + type
                    + "' needs policy and reference log-probs of chosen and rejected responses");
    }

    private static long widthOrZero(NDArray a) { return a == null ? 0 : a.getShape().get(1); }

    private static void requireMatrix(String name, NDArray a) {
        if (a == null) throw new IllegalArgumentException(name + " is required");
        if (a.getShape().dimension() != 2) throw new IllegalArgumentException(name + " must be (B, T), got " + a.getShape());
        if (a.getDataType() != DataType.FLOAT32)
            throw new IllegalArgumentException(name + " must be float32, got " + a.getDataType());
    }

    private static void requireShape(String name, NDArray a, Shape expected) {
        requireMatrix(name, a);
        if (!a.getShape().equals(expected))
            throw new IllegalArgumentException(name + " has shape " + a.getShape() + ", expected " + expected);
    }

    private static void requireShapeIfPresent(String name, NDArray a, Shape expected) {
        if (a != null) requireShape(name, a, expected);
    }
}

package ctlab.critical;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

/**
 * Contrastive estimation of critical tokens (Lin et al. 2024, "Critical Tokens Matter", Sec. 3.2): with z⁺_t and
 * z⁻_t the logits of the positive model (trained on correct answers) and the negative model (trained on incorrect
 * ones) at the position that predicts token y_t,
 * <pre>  s_t = softmax((1 + β)·z⁺_t − β·z⁻_t)[y_t]        (official β = 1)</pre>
 * A low s_t marks a token the negative model prefers far more than the positive one — a likely critical token.
 *
 * <p>Batched over (B, T, V) logits at once (the official code scores one sequence at a time and softmaxes the whole
 * vocabulary on the CPU). Computed as log_softmax + gather: the only full-vocabulary tensors are temporaries of
 * this call, freed before it returns; the result is (B, T).
 */
public final class ContrastiveEstimator {
    /** β of the official code ({@code cd_logits = (1 + 1) * pos_logits - 1 * neg_logits}). */
    public static final double OFFICIAL_BETA = 1.0;

    private final double beta;

    public ContrastiveEstimator(double beta) {
        if (!(beta >= 0 && Double.isFinite(beta)))
            throw new IllegalArgumentException("contrastive estimation beta must be a finite number >= 0, got " + beta);
        this.beta = beta;
    }

    public static ContrastiveEstimator official() { return new ContrastiveEstimator(OFFICIAL_BETA); }

    public double beta() { return beta; }

    /**
     * log s_t for every position.
     *
     * @param positiveLogits (B, T, V) positive-model logits at the positions predicting each target (already shifted)
     * @param negativeLogits (B, T, V) negative-model logits at the same positions
     * @param targets        (B, T) integer token ids y_t; values under a 0 mask are ignored (e.g. −100 padding)
     * @param mask           (B, T) 1 where a target is real, 0 for padding
     * @return (B, T) float32 log-scores, 0 at masked positions; attached to {@code positiveLogits}' manager
     */
    public NDArray logScores(NDArray positiveLogits, NDArray negativeLogits, NDArray targets, NDArray mask) {
        checkShapes(positiveLogits, negativeLogits, targets, mask);
        NDArray result;
        try (NDScope ignored = new NDScope()) {
            NDArray pos = positiveLogits.toType(DataType.FLOAT32, false);                     // (B, T, V)
            NDArray contrast = pos.mul((float) (1 + beta)).sub(negativeLogits.toType(DataType.FLOAT32, false).mul((float) beta));
            NDArray logProbs = contrast.logSoftmax(-1);                                         // (B, T, V)
            NDArray maskF = mask.toType(DataType.FLOAT32, false);                               // (B, T)
            NDArray safeTargets = targets.toType(DataType.INT64, false)
                    .mul(maskF.toType(DataType.INT64, false));                                  // (B, T) padding → id 0
            NDArray picked = logProbs.gather(safeTargets.expandDims(-1), -1).squeeze(-1);      // (B, T)
            result = picked.mul(maskF);
            NDScope.unregister(result);
        }
        return result;
    }

    /** s_t = exp(log s_t) for every position, 0 at masked positions: (B, T) float32. */
    public NDArray scores(NDArray positiveLogits, NDArray negativeLogits, NDArray targets, NDArray mask) {
        NDArray result;
        // logScores' result was unregistered from its own scope, so it is not in this one: close it explicitly
        try (NDScope ignored = new NDScope();
             NDArray logScores = logScores(positiveLogits, negativeLogits, targets, mask)) {
            result = logScores.exp().mul(mask.toType(DataType.FLOAT32, false));
            NDScope.unregister(result);
        }
        return result;
    }

    /**
     * Scores of whole token sequences, as the official code stores them: the logits at position j score token j+1,
     * so the result has one column less than the input and column j belongs to token j+1.
     *
     * @param positiveLogits (B, L, V) logits of the positive model over the sequence
     * @param negativeLogits (B, L, V) logits of the negative model
     * @param inputIds       (B, L) token ids (prompt + response)
     * @param attentionMask  (B, L) 1 for real tokens, 0 for right padding
     * @return (B, L − 1) float32 s for tokens 1..L−1, 0 where the token is padding
     */
    public NDArray sequenceScores(NDArray positiveLogits, NDArray negativeLogits, NDArray inputIds, NDArray attentionMask) {
        NDArray result; // the slices are freed with the scope; scores' result is not registered in it
        try (NDScope ignored = new NDScope()) {
            NDIndex predicting = new NDIndex(":, :-1, :"), predicted = new NDIndex(":, 1:");
            result = scores(positiveLogits.get(predicting), negativeLogits.get(predicting),
                    inputIds.get(predicted), attentionMask.get(predicted));
            NDScope.unregister(result);
        }
        return result;
    }

    private static void checkShapes(NDArray pos, NDArray neg, NDArray targets, NDArray mask) {
        if (pos.getShape().dimension() != 3 || !pos.getShape().equals(neg.getShape()))
            throw new IllegalArgumentException("positive and negative logits must both be (B, T, V), got "
                    + pos.getShape() + " and " + neg.getShape());
        var bt = pos.getShape().slice(0, 2);
        if (!targets.getShape().equals(bt) || !mask.getShape().equals(bt))
            throw new IllegalArgumentException("targets " + targets.getShape() + " and mask " + mask.getShape()
                    + " must be " + bt + " to match the logits");
    }
}

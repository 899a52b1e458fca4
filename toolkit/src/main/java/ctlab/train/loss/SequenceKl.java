package ctlab.train.loss;

import ai.djl.ndarray.NDArray;

/**
 * Per-token KL divergence between the reference and policy next-token distributions, the quantity TDPO sums
 * into its sequential KL: KL_t = Σ_v π_ref(v | prefix_t) (log π_ref(v | prefix_t) − log π_θ(v | prefix_t)).
 */
public final class SequenceKl {
    private SequenceKl() {}

    /**
     * KL(π_ref(·|prefix) ‖ π_θ(·|prefix)) at every position.
     *
     * @param referenceLogits (B, T, V) reference logits at the positions that predict the response tokens (the
     *                        same positions as the per-token log-probs, i.e. already shifted); gradient stopped
     * @param policyLogits    (B, T, V) policy logits at the same positions; gradient flows through these
     * @return (B, T) float32
     */
    public static NDArray perToken(NDArray referenceLogits, NDArray policyLogits) {
        if (!referenceLogits.getShape().equals(policyLogits.getShape()) || policyLogits.getShape().dimension() != 3)
            throw new IllegalArgumentException("logits must both be (B, T, V), got "
                    + referenceLogits.getShape() + " and " + policyLogits.getShape());
        NDArray policyLogp = policyLogits.logSoftmax(-1);                          // (B, T, V)
        NDArray referenceLogp = referenceLogits.stopGradient().logSoftmax(-1);     // (B, T, V)
        // policy first so the result lives in the per-step manager of the activations
        return policyLogp.neg().add(referenceLogp).mul(referenceLogp.exp()).sum(new int[] {2}); // (B, T)
    }
}

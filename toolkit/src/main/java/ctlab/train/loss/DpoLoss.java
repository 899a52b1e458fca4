package ctlab.train.loss;

import ai.djl.ndarray.NDArray;

/**
 * {@code dpo}: Direct Preference Optimization (Rafailov et al. 2023, Eq. 7),
 * L = −log σ(β(Σ_t Δ⁺_t − Σ_t Δ⁻_t)), averaged over the pairs of the batch. With label smoothing ε &gt; 0 the
 * conservative form −(1−ε)·log σ(βz) − ε·log σ(−βz) (Mitchell 2023; TRL's sigmoid loss with label smoothing).
 */
final class DpoLoss implements PreferenceLoss {
    private final double beta;
    private final double labelSmoothing;

    DpoLoss(double beta, double labelSmoothing) {
        this.beta = beta;
        this.labelSmoothing = labelSmoothing;
    }

    @Override public String name() { return LossType.DPO.configName(); }

    @Override public LossResult compute(PreferenceBatch b) {
        b.requirePreferenceInputs(name());
        return new LossResult(preferenceTerm(b, beta, labelSmoothing), LossMath.rewardMetrics(b, beta));
    }

    /** The batch-mean DPO term, shared with {@link RpoLoss}. */
    static NDArray preferenceTerm(PreferenceBatch b, double beta, double labelSmoothing) {
        NDArray chosen = LossMath.maskedSum(LossMath.logRatio(b.policyChosen(), b.referenceChosen()), b.chosenMask());        // (B,)
        NDArray rejected = LossMath.maskedSum(LossMath.logRatio(b.policyRejected(), b.referenceRejected()), b.rejectedMask()); // (B,)
        return LossMath.logisticLoss(chosen.sub(rejected), beta, labelSmoothing).mean();
    }
}

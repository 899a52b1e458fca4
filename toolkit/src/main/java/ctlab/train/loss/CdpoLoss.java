package ctlab.train.loss;

import ai.djl.ndarray.NDArray;

import java.util.EnumSet;
import java.util.Set;

/**
 * {@code cdpo}: token-weighted DPO of "Critical Tokens Matter" (Lin et al. 2024, arXiv 2411.19943, Sec. 3.3,
 * the cDPO objective): L = −log σ(β(Σ_t w⁺_t Δ⁺_t − Σ_t (1 − s⁻_t) Δ⁻_t)), averaged over pairs, where s_t is the
 * contrastive-estimation score of each token ({@code ctlab.critical.ContrastiveEstimator}) and w⁺_t = 1 (the
 * official {@code only_neg=True}) or s⁺_t. A rejected token the negative model explains much better than the
 * positive one (low s⁻_t, a likely critical token) gets weight near 1; tokens both models agree on get weight
 * near 0. This is the sequence-level form; {@link CdpoOfficialLoss} reproduces the official code's per-position
 * average. Scores are constants (no gradient).
 */
final class CdpoLoss implements PreferenceLoss {
    private final double beta;
    private final double labelSmoothing;
    private final boolean onlyNegative;

    CdpoLoss(double beta, double labelSmoothing, boolean onlyNegative) {
        this.beta = beta;
        this.labelSmoothing = labelSmoothing;
        this.onlyNegative = onlyNegative;
    }

    @Override public String name() { return LossType.CDPO.configName(); }

    /** s⁻ always; s⁺ too when only_neg is off. */
    @Override public Set<LossInput> inputs() {
        return onlyNegative ? EnumSet.of(LossInput.REJECTED_WEIGHTS)
                : EnumSet.of(LossInput.CHOSEN_WEIGHTS, LossInput.REJECTED_WEIGHTS);
    }

    @Override public LossResult compute(PreferenceBatch b) {
        b.requirePreferenceInputs(name());
        NDArray chosenDelta = LossMath.logRatio(b.policyChosen(), b.referenceChosen());        // (B, T⁺)
        NDArray rejectedDelta = LossMath.logRatio(b.policyRejected(), b.referenceRejected());  // (B, T⁻)
        NDArray chosen = LossMath.maskedSum(weightChosen(b, chosenDelta, onlyNegative, name()), b.chosenMask());      // (B,)
        NDArray rejected = LossMath.maskedSum(weightRejected(b, rejectedDelta, name()), b.rejectedMask());          // (B,)
        NDArray loss = LossMath.logisticLoss(chosen.sub(rejected), beta, labelSmoothing).mean();
        return new LossResult(loss, LossMath.rewardMetrics(b, beta));
    }

    /** w⁺_t·Δ⁺_t with w⁺ = 1 (only_neg) or s⁺. */
    static NDArray weightChosen(PreferenceBatch b, NDArray delta, boolean onlyNegative, String type) {
        if (onlyNegative) return delta;
        if (b.chosenWeights() == null)
            throw new IllegalArgumentException("loss '" + type + "' with only_neg off needs chosen CE scores");
        return delta.mul(b.chosenWeights().stopGradient());
    }

    /** (1 − s⁻_t)·Δ⁻_t. */
    static NDArray weightRejected(PreferenceBatch b, NDArray delta, String type) {
        if (b.rejectedWeights() == null)
            throw new IllegalArgumentException("loss '" + type + "' needs rejected CE scores");
        return delta.mul(b.rejectedWeights().stopGradient().neg().add(1f));
    }
}

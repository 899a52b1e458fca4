package ctlab.train.loss;

import ai.djl.ndarray.NDArray;
import ctlab.model.Scalars;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@code tokendpo}: Token-level DPO (Zeng et al. 2024, ICML, "Token-level Direct Preference Optimization",
 * Sec. 4). With u = β(Σ Δ⁺ − Σ Δ⁻) the DPO margin and D⁺, D⁻ the sequential KL divergences
 * D_SeqKL(x, y; π_ref ‖ π_θ) = Σ_t KL(π_ref(·|x, y_&lt;t) ‖ π_θ(·|x, y_&lt;t)) of the chosen and rejected responses,
 * δ = β(D⁻ − D⁺), and
 * <ul>
 *   <li>TDPO1: L = −log σ(u − δ) = −log σ(β[(ΣΔ⁺ − ΣΔ⁻) + (D⁺ − D⁻)])</li>
 *   <li>TDPO2: L = −log σ(u − α·β(D⁻ − sg(D⁺))) = −log σ(β[(ΣΔ⁺ − ΣΔ⁻) + α(sg(D⁺) − D⁻)]), sg = stop-gradient</li>
 * </ul>
 * as in the paper's L_TDPO1 / L_TDPO2 objectives and the official code's {@code tdpo_loss} (Vance0124/
 * Token-level-Direct-Preference-Optimization, trainers.py; defaults α = 0.5, β = 0.1, TDPO2). Per-token KL comes
 * from {@link SequenceKl#perToken}. Rewards are logged TRL-style as β·ΣΔ (the official code logs β(ΣΔ + D));
 * the sequential KLs are logged as {@code kl/chosen}, {@code kl/rejected}.
 */
final class TokenDpoLoss implements PreferenceLoss {
    private final double beta;
    private final double labelSmoothing;
    private final boolean tdpo2;
    private final double alpha;

    TokenDpoLoss(double beta, double labelSmoothing, boolean tdpo2, double alpha) {
        this.beta = beta;
        this.labelSmoothing = labelSmoothing;
        this.tdpo2 = tdpo2;
        this.alpha = alpha;
    }

    @Override public String name() { return LossType.TOKEN_DPO.configName(); }

    @Override public Set<LossInput> inputs() { return EnumSet.of(LossInput.SEQUENCE_KL); }

    @Override public LossResult compute(PreferenceBatch b) {
        b.requirePreferenceInputs(name());
        if (b.chosenKl() == null || b.rejectedKl() == null)
            throw new IllegalArgumentException("loss 'tokendpo' needs per-token sequential KL on both sides");
        NDArray chosen = LossMath.maskedSum(LossMath.logRatio(b.policyChosen(), b.referenceChosen()), b.chosenMask());        // (B,)
        NDArray rejected = LossMath.maskedSum(LossMath.logRatio(b.policyRejected(), b.referenceRejected()), b.rejectedMask()); // (B,)
        NDArray klChosen = LossMath.maskedSum(b.chosenKl(), b.chosenMask());       // (B,) D⁺
        NDArray klRejected = LossMath.maskedSum(b.rejectedKl(), b.rejectedMask()); // (B,) D⁻
        NDArray margin = chosen.sub(rejected);
        NDArray z = tdpo2
                ? margin.add(Scalars.mul(klChosen.stopGradient().sub(klRejected), (float) alpha))
                : margin.add(klChosen.sub(klRejected));
        NDArray loss = LossMath.logisticLoss(z, beta, labelSmoothing).mean();
        Map<String, Double> m = new LinkedHashMap<>(LossMath.rewardMetrics(b, beta));
        m.put("kl/chosen", LossMath.scalar(klChosen.mean()));
        m.put("kl/rejected", LossMath.scalar(klRejected.mean()));
        return new LossResult(loss, m);
    }
}

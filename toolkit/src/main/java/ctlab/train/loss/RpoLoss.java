package ctlab.train.loss;

import ai.djl.ndarray.NDArray;
import ctlab.model.Scalars;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code rpo}: DPO plus a length-normalised NLL on the chosen responses, the DPO+NLL objective of Iterative
 * Reasoning Preference Optimization (Pang et al. 2024, Sec. 2): L = L_DPO + α·(−(1/N⁺) Σ m⁺_t log π_θ(y⁺_t)),
 * with the NLL averaged over all N⁺ chosen tokens of the batch, as TRL computes it ({@code rpo_alpha} in
 * TRL 0.9, {@code loss_type=["sigmoid","sft"]} with weights [1, α] in TRL 1.x). Note the paper normalises by
 * the prompt+response length of each sequence; we follow TRL, whose numbers users compare against.
 */
final class RpoLoss implements PreferenceLoss {
    private final double beta;
    private final double labelSmoothing;
    private final double alpha;

    RpoLoss(double beta, double labelSmoothing, double alpha) {
        this.beta = beta;
        this.labelSmoothing = labelSmoothing;
        this.alpha = alpha;
    }

    @Override public String name() { return LossType.RPO.configName(); }

    @Override public LossResult compute(PreferenceBatch b) {
        b.requirePreferenceInputs(name());
        NDArray dpo = DpoLoss.preferenceTerm(b, beta, labelSmoothing); // ()
        NDArray nll = LossMath.chosenNll(b);                            // ()
        Map<String, Double> m = new LinkedHashMap<>(LossMath.rewardMetrics(b, beta));
        m.put("dpo", LossMath.scalar(dpo));
        m.put("nll", LossMath.scalar(nll));
        return new LossResult(dpo.add(Scalars.mul(nll, (float) alpha)), m);
    }
}

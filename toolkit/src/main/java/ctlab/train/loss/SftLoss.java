package ctlab.train.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code sft}: negative log-likelihood of the chosen responses, L = −(1/N) Σ_{b,t} m_{b,t}·log π_θ(y_{b,t}),
 * averaged over all N response tokens of the batch (token mean, as Hugging Face's cross-entropy and TRL's
 * {@code sft} loss term), the maximum-likelihood objective used to train the positive and negative models of
 * cDPO (Lin et al. 2024, Sec. 3.2). Reads only the chosen side.
 */
final class SftLoss implements PreferenceLoss {

    @Override public String name() { return LossType.SFT.configName(); }

    @Override public LossResult compute(PreferenceBatch b) {
        NDArray nll = LossMath.chosenNll(b); // ()
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("nll", LossMath.scalar(nll));
        try (NDScope ignored = new NDScope()) {
            m.put("logps/chosen", (double) LossMath.maskedSum(b.policyChosen().stopGradient(), b.chosenMask()).mean().getFloat());
        }
        return new LossResult(nll, m);
    }
}

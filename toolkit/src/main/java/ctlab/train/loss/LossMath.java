package ctlab.train.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Activation;
import ctlab.model.Scalars;

import java.util.LinkedHashMap;
import java.util.Map;

/** Shared pieces of the DPO family: masked sums, the (smoothed) logistic loss and TRL's metrics. */
final class LossMath {
    private LossMath() {}

    /** Σ_t x_t·mask_t per row: (B, T) → (B,). */
    static NDArray maskedSum(NDArray x, NDArray mask) {
        return x.mul(mask).sum(new int[] {1});
    }

    /** Δ_t = log π_θ − log π_ref with the reference treated as a constant: (B, T). */
    static NDArray logRatio(NDArray policy, NDArray reference) {
        return policy.sub(reference.stopGradient());
    }

    /**
     * Conservative DPO's per-element loss on the scaled margin z (Mitchell 2023, "A note on DPO with noisy
     * preferences"; TRL's sigmoid loss with label smoothing): −(1−ε)·log σ(βz) − ε·log σ(−βz), written with
     * softplus(u) = −log σ(−u) so it stays finite for large |βz|. ε = 0 is plain DPO (Rafailov et al. 2023, Eq. 7).
     */
    static NDArray logisticLoss(NDArray z, double beta, double labelSmoothing) {
        NDArray scaled = Scalars.mul(z, (float) beta); // fp32 scalar (a double would promote 0-d results)
        NDArray loss = Activation.softPlus(scaled.neg());
        if (labelSmoothing == 0) return loss;
        return Scalars.mul(loss, (float) (1 - labelSmoothing)).add(Scalars.mul(Activation.softPlus(scaled), (float) labelSmoothing));
    }

    /** Global token mean of −log π over the chosen tokens (TRL's "sft" term and HF cross-entropy). */
    static NDArray chosenNll(PreferenceBatch b) {
        return maskedSum(b.policyChosen(), b.chosenMask()).sum().div(b.chosenMask().sum()).neg();
    }

    /** TRL's reward metrics with rewards β·Σ_t Δ_t (detached; intermediates freed). */
    static Map<String, Double> rewardMetrics(PreferenceBatch b, double beta) {
        Map<String, Double> m = new LinkedHashMap<>();
        try (NDScope ignored = new NDScope()) {
            float[] chosen = maskedSum(b.policyChosen().stopGradient().sub(b.referenceChosen()), b.chosenMask()).toFloatArray();
            float[] rejected = maskedSum(b.policyRejected().stopGradient().sub(b.referenceRejected()), b.rejectedMask()).toFloatArray();
            float[] chosenLogps = maskedSum(b.policyChosen().stopGradient(), b.chosenMask()).toFloatArray();
            float[] rejectedLogps = maskedSum(b.policyRejected().stopGradient(), b.rejectedMask()).toFloatArray();
            int n = chosen.length;
            double rc = 0, rr = 0, acc = 0, lc = 0, lr = 0;
            for (int i = 0; i < n; i++) {
                double c = beta * chosen[i], r = beta * rejected[i];
                rc += c; rr += r; acc += c > r ? 1 : 0; lc += chosenLogps[i]; lr += rejectedLogps[i];
            }
            m.put("rewards/chosen", rc / n);
            m.put("rewards/rejected", rr / n);
            m.put("rewards/accuracies", acc / n);
            m.put("rewards/margins", (rc - rr) / n);
            m.put("logps/chosen", lc / n);
            m.put("logps/rejected", lr / n);
        }
        return m;
    }

    static double scalar(NDArray a) {
        try (NDArray d = a.stopGradient()) { return d.getFloat(); }
    }
}

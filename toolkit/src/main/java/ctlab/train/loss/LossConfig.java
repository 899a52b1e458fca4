package ctlab.train.loss;

import ctlab.CtlabException;

import java.util.ArrayList;
import java.util.List;

/**
 * Settings of one preference loss, validated when built so a bad value fails before training starts.
 *
 * @param type            the variant
 * @param beta            β of the DPO family, the inverse temperature of the implicit reward (&gt; 0; official cDPO 0.1)
 * @param labelSmoothing  ε of conservative DPO, the assumed probability that a preference label is flipped,
 *                        in [0, 0.5); 0 gives plain DPO (official cDPO uses 0)
 * @param rpoAlpha        α weight of the chosen-response NLL term of {@code rpo} (&gt; 0 for rpo, ignored otherwise)
 * @param tdpoAlpha       α of TDPO2, the weight of the rejected-side sequential KL (in (0, 1]; official default 0.5)
 * @param tdpo2           TDPO2 (true, the official default) or TDPO1 (false)
 * @param onlyNegative    cDPO weights only the rejected tokens (w⁺ = 1, the official {@code only_neg=True}); false
 *                        weights the chosen tokens by their CE score s⁺ as well
 */
public record LossConfig(LossType type, double beta, double labelSmoothing, double rpoAlpha, double tdpoAlpha,
                         boolean tdpo2, boolean onlyNegative) {

    public LossConfig {
        if (type == null) throw new CtlabException("loss: missing 'type'");
        List<String> errors = new ArrayList<>();
        if (type.isPreference() && !(beta > 0 && Double.isFinite(beta)))
            errors.add("'beta' must be a finite number > 0, got " + beta);
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5))
            errors.add("'label_smoothing' must be in [0, 0.5), got " + labelSmoothing);
        if (type == LossType.RPO && !(rpoAlpha > 0 && Double.isFinite(rpoAlpha)))
            errors.add("'rpo_alpha' must be a finite number > 0 for rpo, got " + rpoAlpha);
        if (type == LossType.TOKEN_DPO && tdpo2 && !(tdpoAlpha > 0 && tdpoAlpha <= 1))
            errors.add("'tdpo_alpha' must be in (0, 1] for TDPO2, got " + tdpoAlpha);
        if (!errors.isEmpty()) throw new CtlabException("loss '" + type + "': " + String.join("; ", errors));
    }

    /** The official defaults for a variant: β 0.1, no smoothing, RPO α 1, TDPO2 with α 0.5, cDPO only_neg. */
    public static LossConfig defaults(LossType type) {
        return new LossConfig(type, 0.1, 0.0, 1.0, 0.5, true, true);
    }

    public LossConfig withBeta(double b) { return new LossConfig(type, b, labelSmoothing, rpoAlpha, tdpoAlpha, tdpo2, onlyNegative); }

    public LossConfig withLabelSmoothing(double e) { return new LossConfig(type, beta, e, rpoAlpha, tdpoAlpha, tdpo2, onlyNegative); }

    public LossConfig withRpoAlpha(double a) { return new LossConfig(type, beta, labelSmoothing, a, tdpoAlpha, tdpo2, onlyNegative); }

    public LossConfig withTdpo(boolean two, double alpha) { return new LossConfig(type, beta, labelSmoothing, rpoAlpha, alpha, two, onlyNegative); }

    public LossConfig withOnlyNegative(boolean only) { return new LossConfig(type, beta, labelSmoothing, rpoAlpha, tdpoAlpha, tdpo2, only); }

    /** True when the loss reads the chosen-side CE scores s⁺ (cDPO variants with only_neg off). */
    public boolean needsChosenWeights() {
        return (type == LossType.CDPO || type == LossType.CDPO_OFFICIAL) && !onlyNegative;
    }

    /**
     * Checks, before training, that the training data provides every per-token input this loss reads.
     *
     * @param source names the data (a file) for the error message
     */
    public void checkInputsAvailable(boolean hasChosenWeights, boolean hasRejectedWeights, boolean hasSequenceKl,
                                     String source) {
        List<String> missing = new ArrayList<>();
        if (needsChosenWeights() && !hasChosenWeights) missing.add("chosen CE scores s⁺ (only_neg is off)");
        if (type.needsRejectedWeights() && !hasRejectedWeights) missing.add("rejected CE scores s⁻");
        if (type.needsSequenceKl() && !hasSequenceKl) missing.add("per-token sequential KL (full reference logits)");
        if (!missing.isEmpty())
            throw new CtlabException(source + ": loss '" + type + "' needs " + String.join(" and ", missing)
                    + ", which this data does not provide");
    }
}

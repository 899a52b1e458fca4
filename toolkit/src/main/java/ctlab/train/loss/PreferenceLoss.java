package ctlab.train.loss;

/**
 * A training loss over per-token log-probs of chosen (and rejected) responses; one small class per variant,
 * each citing the equation it implements. Implementations are stateless and safe to share.
 *
 * <p>With Δ_t = log π_θ(y_t) − log π_ref(y_t) summed over the response tokens of each side.
 */
public interface PreferenceLoss {

    LossType type();

    /** Computes the batch loss (a scalar NDArray attached to the batch's manager) and the TRL metric set. */
    LossResult compute(PreferenceBatch batch);

    /** The loss for a validated config. */
    static PreferenceLoss create(LossConfig config) {
        return switch (config.type()) {
            case SFT -> new SftLoss();
            case DPO -> new DpoLoss(config.beta(), config.labelSmoothing());
            case RPO -> new RpoLoss(config.beta(), config.labelSmoothing(), config.rpoAlpha());
            case TOKEN_DPO -> new TokenDpoLoss(config.beta(), config.labelSmoothing(), config.tdpo2(), config.tdpoAlpha());
            case CDPO -> new CdpoLoss(config.beta(), config.labelSmoothing(), config.onlyNegative());
            case CDPO_OFFICIAL -> new CdpoOfficialLoss(config.beta(), config.labelSmoothing(), config.onlyNegative());
        };
    }
}

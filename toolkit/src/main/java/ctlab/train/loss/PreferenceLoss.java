package ctlab.train.loss;

import java.util.Set;

/**
 * A training loss over per-token log-probs of chosen (and rejected) responses; one small class per variant,
 * each citing the equation it implements. Implementations are stateless and safe to share.
 *
 * <p>With Δ_t = log π_θ(y_t) − log π_ref(y_t) summed over the response tokens of each side.
 */
public interface PreferenceLoss {

    /** The loss's name in messages and run folders (the config name of a {@link LossType}). */
    String name();

    /** The optional batch inputs this loss reads; the trainer provides exactly these. None by default. */
    default Set<LossInput> inputs() { return Set.of(); }

    /** Computes the batch loss (a scalar NDArray attached to the batch's manager) and the TRL metric set. */
    LossResult compute(PreferenceBatch batch);

    /** The loss for a validated config. */
    static PreferenceLoss create(LossConfig config) { return config.type().create(config); }
}

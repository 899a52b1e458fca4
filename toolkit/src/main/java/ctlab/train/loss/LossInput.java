package ctlab.train.loss;

import ctlab.CtlabException;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The optional inputs of a {@link PreferenceBatch} beyond the policy and reference log-probs and masks. A loss
 * declares the ones it reads ({@link PreferenceLoss#inputs()}); the trainer checks the data provides them before
 * training and computes exactly those, so the training loop needs no code of its own per loss.
 */
public enum LossInput {
    /** CE scores s⁺_t of the chosen tokens ({@link PreferenceBatch#chosenWeights()}). */
    CHOSEN_WEIGHTS("chosen CE scores s⁺"),
    /** CE scores s⁻_t of the rejected tokens ({@link PreferenceBatch#rejectedWeights()}). */
    REJECTED_WEIGHTS("rejected CE scores s⁻"),
    /** Per-token KL(π_ref ‖ π_θ) on both sides ({@link PreferenceBatch#chosenKl()}); needs the reference's logits each step. */
    SEQUENCE_KL("per-token sequential KL (full reference logits)"),
    /** The official trainer's padded grid size ({@link PreferenceBatch#officialPositions()}). */
    OFFICIAL_POSITIONS("the official trainer's padded positions");

    private final String description;

    LossInput(String description) { this.description = description; }

    public String description() { return description; }

    /**
     * Throws a CtlabException naming {@code source} when {@code loss} reads an input that is not {@code available}.
     */
    public static void requireAvailable(PreferenceLoss loss, Set<LossInput> available, String source) {
        List<String> missing = new ArrayList<>();
        for (LossInput in : loss.inputs()) if (!available.contains(in)) missing.add(in.description);
        if (!missing.isEmpty())
            throw new CtlabException(source + ": loss '" + loss.name() + "' needs " + String.join(" and ", missing)
                    + ", which this data does not provide");
    }
}

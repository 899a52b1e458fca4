package ctlab.train.loss;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.util.EnumSet;
import java.util.Iterator;
import java.util.Set;

/**
 * Settings of one preference loss, validated when built so a bad value fails before training starts. This is the
 * one validation of each knob: a run config's {@code train} section names the knobs with these keys and builds
 * one LossConfig per listed loss when it loads.
 *
 * @param type            the variant
 * @param beta            β of the DPO family, the inverse temperature of the implicit reward (&gt; 0; official cDPO 0.1)
 * @param labelSmoothing  ε of conservative DPO, the assumed probability that a preference label is flipped,
 *                        in [0, 0.5); 0 gives plain DPO (official cDPO uses 0)
 * @param rpoAlpha        α weight of the chosen-response NLL term of {@code rpo} (&gt; 0 for rpo, ignored otherwise:
 *                        α = 0 would be plain dpo; the RPO paper and TRL use α = 1)
 * @param tdpoAlpha       α of TDPO2, the weight of the rejected-side sequential KL (in (0, 1]; official default 0.5)
 * @param tdpo2           TDPO2 (true, the official default) or TDPO1 (false)
 * @param onlyNegative    cDPO weights only the rejected tokens (w⁺ = 1, the official {@code only_neg=True}); false
 *                        weights the chosen tokens by their CE score s⁺ as well
 */
public record LossConfig(LossType type, double beta, double labelSmoothing, double rpoAlpha, double tdpoAlpha,
                         boolean tdpo2, boolean onlyNegative) {

    public LossConfig {
        if (type == null) throw new CtlabException("loss: missing 'type'");
        if (type.isPreference() && !Double.isFinite(beta)) throw new Invalid(type, "beta", "must be a finite number, got " + beta);
        if (type.isPreference() && !(beta > 0)) throw new Invalid(type, "beta", "must be > 0, got " + number(beta));
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5))
            throw new Invalid(type, "label_smoothing", "must be in [0, 0.5), got " + number(labelSmoothing));
        if (type == LossType.RPO && !(rpoAlpha > 0 && Double.isFinite(rpoAlpha)))
            throw new Invalid(type, "rpo_alpha", "must be > 0 for rpo, got " + number(rpoAlpha));
        if (type == LossType.TOKEN_DPO && tdpo2 && !(tdpoAlpha > 0 && tdpoAlpha <= 1))
            throw new Invalid(type, "tdpo_alpha", "must be in (0, 1] for TDPO2, got " + number(tdpoAlpha));
    }

    /** A knob out of range: {@link #key()} is its config key, {@link #problem()} what is wrong with its value. */
    public static final class Invalid extends CtlabException {
        private final String key, problem;

        Invalid(LossType type, String key, String problem) {
            super("loss '" + type + "': '" + key + "' " + problem);
            this.key = key;
            this.problem = problem;
        }

        public String key() { return key; }
        public String problem() { return problem; }
    }

    private static String number(double v) { return CtlabException.number(v); }

    /** Config keys, as in YAML/JSON run configs. */
    public static final Set<String> KEYS = Set.of("type", "beta", "label_smoothing", "rpo_alpha", "tdpo_alpha", "tdpo2", "only_neg");

    /**
     * Reads a loss section of a run config ({@code {type: cdpo, beta: 0.1, ...}}); keys left out take the
     * official defaults ({@link #defaults}). Unknown keys and values of the wrong type are CtlabExceptions naming
     * the key.
     *
     * @param where names the config section for messages, e.g. {@code "config.yaml: train.loss"}
     */
    public static LossConfig fromJson(JsonNode node, String where) {
        if (node == null || !node.isObject()) throw new CtlabException(where + ": expected a mapping with at least 'type'");
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KEYS.contains(key))
                throw new CtlabException(where + ": unknown key '" + key + "'; expected one of " + new java.util.TreeSet<>(KEYS));
        }
        JsonNode type = node.get("type");
        if (type == null || !type.isTextual()) throw new CtlabException(where + ": 'type' must be a loss name");
        LossConfig d = defaults(LossType.fromName(type.asText()));
        try {
            return new LossConfig(d.type(), number(node, "beta", d.beta(), where),
                    number(node, "label_smoothing", d.labelSmoothing(), where), number(node, "rpo_alpha", d.rpoAlpha(), where),
                    number(node, "tdpo_alpha", d.tdpoAlpha(), where), bool(node, "tdpo2", d.tdpo2(), where),
                    bool(node, "only_neg", d.onlyNegative(), where));
        } catch (CtlabException e) {
            throw new CtlabException(where + ": " + e.getMessage(), e);
        }
    }

    /** The resolved config under its config keys, for provenance records. */
    public ObjectNode toJson() {
        ObjectNode n = Jsonl.MAPPER.createObjectNode();
        n.put("type", type.configName());
        n.put("beta", beta);
        n.put("label_smoothing", labelSmoothing);
        n.put("rpo_alpha", rpoAlpha);
        n.put("tdpo_alpha", tdpoAlpha);
        n.put("tdpo2", tdpo2);
        n.put("only_neg", onlyNegative);
        return n;
    }

    private static double number(JsonNode node, String key, double fallback, String where) {
        JsonNode v = node.get(key);
        if (v == null) return fallback;
        if (!v.isNumber()) throw new CtlabException(where + ": '" + key + "' must be a number, got " + v);
        return v.asDouble();
    }

    private static boolean bool(JsonNode node, String key, boolean fallback, String where) {
        JsonNode v = node.get(key);
        if (v == null) return fallback;
        if (!v.isBoolean()) throw new CtlabException(where + ": '" + key + "' must be true or false, got " + v);
        return v.asBoolean();
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

    /**
     * Checks, before training, that the training data provides every per-token input this loss reads
     * ({@link PreferenceLoss#inputs()}).
     *
     * @param source names the data (a file) for the error message
     */
    public void checkInputsAvailable(boolean hasChosenWeights, boolean hasRejectedWeights, boolean hasSequenceKl,
                                     String source) {
        Set<LossInput> available = EnumSet.of(LossInput.OFFICIAL_POSITIONS);
        if (hasChosenWeights) available.add(LossInput.CHOSEN_WEIGHTS);
        if (hasRejectedWeights) available.add(LossInput.REJECTED_WEIGHTS);
        if (hasSequenceKl) available.add(LossInput.SEQUENCE_KL);
        LossInput.requireAvailable(PreferenceLoss.create(this), available, source);
    }
}

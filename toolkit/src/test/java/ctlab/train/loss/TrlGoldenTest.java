package ctlab.train.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * dpo, rpo and sft against TRL's own DPOTrainer loss code on fixed per-token log-probs; the fixture is written by
 * tools/goldens/make_trl_loss_golden.py (trl 1.16). Label smoothing is checked pair by pair against TRL's
 * "aot" loss, which equals conservative DPO for a batch of one pair (see the script).
 */
class TrlGoldenTest {
    static final double TOL = 2e-5;

    @Test void matchesTrl() throws Exception {
        JsonNode fixture;
        try (InputStream in = getClass().getResourceAsStream("/goldens/trl_dpo_losses.json")) {
            assertNotNull(in, "fixture goldens/trl_dpo_losses.json on the test classpath");
            fixture = Jsonl.MAPPER.readTree(in);
        }
        int checked = 0;
        for (JsonNode c : fixture.get("cases")) {
            List<Integer> pairs = new ArrayList<>();
            c.get("pairs").forEach(p -> pairs.add(p.asInt()));
            List<String> trlTypes = new ArrayList<>();
            c.get("trl_loss_type").forEach(t -> trlTypes.add(t.asText()));
            LossConfig config = switch (String.join("+", trlTypes)) {
                case "sigmoid", "aot" -> LossConfig.defaults(LossType.DPO);
                case "sigmoid+sft" -> LossConfig.defaults(LossType.RPO).withRpoAlpha(c.get("trl_loss_weights").get(1).asDouble());
                case "sft" -> LossConfig.defaults(LossType.SFT);
                default -> throw new AssertionError("unexpected TRL loss " + trlTypes);
            };
            config = config.withBeta(c.get("beta").asDouble()).withLabelSmoothing(c.get("label_smoothing").asDouble());
            try (NDManager manager = NDManager.newBaseManager()) {
                PreferenceBatch batch = PreferenceBatch.of(
                        padded(manager, fixture.get("policy_chosen"), pairs), padded(manager, fixture.get("policy_rejected"), pairs),
                        padded(manager, fixture.get("reference_chosen"), pairs), padded(manager, fixture.get("reference_rejected"), pairs),
                        mask(manager, fixture.get("policy_chosen"), pairs), mask(manager, fixture.get("policy_rejected"), pairs));
                LossResult r = PreferenceLoss.create(config).compute(batch);
                String name = c.get("name").asText();
                assertEquals(c.get("loss").asDouble(), r.lossValue(), TOL, name + " loss");
                if (config.type() != LossType.SFT) {
                    for (Map.Entry<String, JsonNode> e : iterable(c.get("metrics"))) {
                        assertEquals(e.getValue().asDouble(), r.metric(e.getKey()), TOL * 10, name + " " + e.getKey());
                    }
                }
                checked++;
            }
        }
        assertEquals(8, checked);
        assertFalse(fixture.get("trl_version").asText().isEmpty());
    }

    static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode obj) { return obj::fields; }

    /** Rows of a ragged JSON array, right-padded with 0 to (pairs, max length). */
    static NDArray padded(NDManager m, JsonNode ragged, List<Integer> pairs) {
        int width = 0;
        for (int p : pairs) width = Math.max(width, ragged.get(p).size());
        float[][] out = new float[pairs.size()][width];
        for (int i = 0; i < pairs.size(); i++) {
            JsonNode row = ragged.get(pairs.get(i));
            for (int t = 0; t < row.size(); t++) out[i][t] = (float) row.get(t).asDouble();
        }
        return m.create(out);
    }

    static NDArray mask(NDManager m, JsonNode ragged, List<Integer> pairs) {
        int width = 0;
        for (int p : pairs) width = Math.max(width, ragged.get(p).size());
        float[][] out = new float[pairs.size()][width];
        for (int i = 0; i < pairs.size(); i++) for (int t = 0; t < ragged.get(pairs.get(i)).size(); t++) out[i][t] = 1;
        return m.create(out);
    }
}

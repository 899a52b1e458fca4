package ctlab.train.loss;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.data.ScoredSide;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code cdpo-official} against the official cDPO code's own {@code CDPOTrainer.dpo_loss}, run by
 * tools/goldens/make_cdpo_official_golden.py on the official trainer's padded prompt+response grid. The losses sit
 * close to ln 2 (most grid positions are prompt/padding, each contributing exactly ln 2), so the check is on the
 * difference from ln 2 at float32 precision.
 */
class CdpoOfficialGoldenTest {

    @Test void matchesOfficialCode() throws Exception {
        JsonNode f;
        try (InputStream in = getClass().getResourceAsStream("/goldens/cdpo_official_loss.json")) {
            assertNotNull(in, "fixture goldens/cdpo_official_loss.json on the test classpath");
            f = Jsonl.MAPPER.readTree(in);
        }
        List<Integer> all = List.of(0, 1, 2);
        int checked = 0;
        for (JsonNode c : f.get("cases")) {
            try (NDManager m = NDManager.newBaseManager()) {
                PreferenceBatch b = PreferenceBatch.of(
                                TrlGoldenTest.padded(m, f.get("policy_chosen"), all), TrlGoldenTest.padded(m, f.get("policy_rejected"), all),
                                TrlGoldenTest.padded(m, f.get("reference_chosen"), all), TrlGoldenTest.padded(m, f.get("reference_rejected"), all),
                                TrlGoldenTest.mask(m, f.get("policy_chosen"), all), TrlGoldenTest.mask(m, f.get("policy_rejected"), all))
                        .withWeights(TrlGoldenTest.padded(m, f.get("s_chosen"), all), TrlGoldenTest.padded(m, f.get("s_rejected"), all))
                        .withOfficialPositions(f.get("official_positions").asInt());
                LossConfig config = LossConfig.defaults(LossType.CDPO_OFFICIAL)
                        .withBeta(c.get("beta").asDouble()).withLabelSmoothing(c.get("label_smoothing").asDouble())
                        .withOnlyNegative(c.get("only_neg").asBoolean());
                double got = PreferenceLoss.create(config).compute(b).lossValue();
                double expected = c.get("loss").asDouble();
                assertTrue(Math.abs(expected - Math.log(2)) > 1e-4, "case is not trivially ln 2");
                assertEquals(expected - Math.log(2), got - Math.log(2), 1e-6, c.toString());
                checked++;
            }
        }
        assertEquals(6, checked);
    }

    /** The response-aligned weights are ce_prob[response_start_idx:] of the official records plus the EOS weight. */
    @Test void weightsComeFromTheOfficialRecords() throws Exception {
        JsonNode f;
        try (InputStream in = getClass().getResourceAsStream("/goldens/cdpo_official_loss.json")) {
            f = Jsonl.MAPPER.readTree(in);
        }
        for (int i = 0; i < 3; i++) {
            JsonNode entry = f.get("prob_result").get(i);
            double[] pos = Jsonl.MAPPER.treeToValue(entry.get("pos"), ScoredSide.class).responseScores();
            double[] neg = Jsonl.MAPPER.treeToValue(entry.get("neg"), ScoredSide.class).responseScores();
            JsonNode sc = f.get("s_chosen").get(i), sr = f.get("s_rejected").get(i);
            assertEquals(pos.length + 1, sc.size());
            assertEquals(neg.length + 1, sr.size());
            for (int t = 0; t < pos.length; t++) assertEquals(pos[t], sc.get(t).asDouble(), 0.0);
            for (int t = 0; t < neg.length; t++) assertEquals(neg[t], sr.get(t).asDouble(), 0.0);
            assertEquals(1.0, sc.get(pos.length).asDouble(), 0.0, "official chosen EOS weight 1");
            assertEquals(0.0, sr.get(neg.length).asDouble(), 0.0, "official rejected EOS weight 1 - 0");
        }
    }
}

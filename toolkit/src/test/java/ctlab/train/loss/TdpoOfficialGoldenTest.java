package ctlab.train.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;

import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * {@code tokendpo} with {@link SequenceKl} against the official TDPO code ({@code _tdpo_get_batch_logps} and
 * {@code tdpo_loss}, run by tools/goldens/make_tdpo_official_golden.py) from the same policy and reference logits.
 */
class TdpoOfficialGoldenTest {

    @Test void matchesOfficialCode() throws Exception {
        JsonNode f;
        try (InputStream in = getClass().getResourceAsStream("/goldens/tdpo_official_loss.json")) {
            assertNotNull(in, "fixture goldens/tdpo_official_loss.json on the test classpath");
            f = Jsonl.MAPPER.readTree(in);
        }
        int vocab = f.get("vocab").asInt();
        try (NDManager m = NDManager.newBaseManager()) {
            Side chosen = side(m, f.get("chosen"), vocab), rejected = side(m, f.get("rejected"), vocab);
            NDArray klChosen = SequenceKl.perToken(chosen.refLogits, chosen.polLogits);       // (B, T⁺)
            NDArray klRejected = SequenceKl.perToken(rejected.refLogits, rejected.polLogits); // (B, T⁻)
            float[] seqKlChosen = LossMath.maskedSum(klChosen, chosen.mask).toFloatArray();
            float[] seqKlRejected = LossMath.maskedSum(klRejected, rejected.mask).toFloatArray();
            for (int b = 0; b < 2; b++) {
                assertEquals(f.get("seq_kl_chosen").get(b).asDouble(), seqKlChosen[b], 1e-5);
                assertEquals(f.get("seq_kl_rejected").get(b).asDouble(), seqKlRejected[b], 1e-5);
            }
            PreferenceBatch batch = PreferenceBatch.of(chosen.polLogps(), rejected.polLogps(), chosen.refLogps(),
                    rejected.refLogps(), chosen.mask, rejected.mask).withKl(klChosen, klRejected);
            for (JsonNode c : f.get("cases")) {
                LossConfig config = LossConfig.defaults(LossType.TOKEN_DPO).withBeta(c.get("beta").asDouble())
                        .withTdpo(c.get("tdpo2").asBoolean(), c.get("alpha").asDouble());
                assertEquals(c.get("loss").asDouble(), PreferenceLoss.create(config).compute(batch).lossValue(), 1e-5, c.toString());
            }
        }
    }

    record Side(NDArray polLogits, NDArray refLogits, NDArray targets, NDArray mask) {
        NDArray polLogps() { return gather(polLogits); }

        NDArray refLogps() { return gather(refLogits); }

        /** log_softmax + gather of the targets: (B, T); the engine's tokenLogProbs does the same from real models. */
        NDArray gather(NDArray logits) {
            return logits.logSoftmax(-1).gather(targets.expandDims(-1), -1).squeeze(-1).mul(mask);
        }
    }

    /** Ragged per-row logits (T_b, V) and targets, right-padded to (B, T, V) / (B, T) with a mask. */
    static Side side(NDManager m, JsonNode s, int vocab) {
        int rows = s.get("targets").size(), width = 0;
        for (JsonNode t : s.get("targets")) width = Math.max(width, t.size());
        float[] pol = new float[rows * width * vocab], ref = new float[rows * width * vocab];
        long[] targets = new long[rows * width];
        float[] mask = new float[rows * width];
        for (int b = 0; b < rows; b++)
            for (int t = 0; t < s.get("targets").get(b).size(); t++) {
                targets[b * width + t] = s.get("targets").get(b).get(t).asLong();
                mask[b * width + t] = 1;
                for (int v = 0; v < vocab; v++) {
                    pol[(b * width + t) * vocab + v] = (float) s.get("policy_logits").get(b).get(t).get(v).asDouble();
                    ref[(b * width + t) * vocab + v] = (float) s.get("reference_logits").get(b).get(t).get(v).asDouble();
                }
            }
        return new Side(m.create(pol, new Shape(rows, width, vocab)), m.create(ref, new Shape(rows, width, vocab)),
                m.create(targets, new Shape(rows, width)), m.create(mask, new Shape(rows, width)));
    }
}

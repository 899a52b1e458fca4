package ctlab.critical;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Param;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CE scores over position chunks of the hidden states equal the scores of the whole (B, L, V) logits. */
class CeScoringChunkTest {
    @Test
    void chunkedScoresEqualWholeLogitScores() {
        Path dir = Path.of("src/test/resources/goldens/llama");
        ContrastiveEstimator est = ContrastiveEstimator.official();
        try (LlamaModel model = LlamaModel.load(dir, Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Lora.Config lc = new Lora.Config(4, 8, 0.0, List.of("gate_proj", "up_proj", "down_proj"));
            Lora pos = Lora.attach(model, lc, 1), neg = Lora.attach(model, lc, 2);
            for (Lora l : List.of(pos, neg)) {   // fresh adapters have B = 0: give them an effect
                for (Param p : l.parameters()) if (p.name().contains("lora_B")) p.array().addi(m.randomNormal(p.array().getShape()).mul(0.5f));
            }
            long[] ids = {1, 5, 9, 3, 7, 2, 8, 4, 6, 1, 5, 9, 3, 7, 2, 0, 0, 0};
            float[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
            NDArray idArr = m.create(ids, new Shape(2, 9)), maskArr = m.create(mask, new Shape(2, 9));
            pos.activate();
            NDArray zPos = model.logits(idArr, maskArr);
            NDArray hPos = model.hiddenStates(idArr, maskArr);
            neg.activate();
            NDArray zNeg = model.logits(idArr, maskArr);
            NDArray hNeg = model.hiddenStates(idArr, maskArr);
            float[] whole = est.sequenceScores(zPos, zNeg, idArr, maskArr).toFloatArray();
            long v = model.config().vocabSize();
            for (long budget : new long[] {2 * v, 2 * 3 * v, 1L << 27}) {   // 1, 3 and all 8 positions per chunk
                float[] chunked = CeScoring.chunkedScores(model, est, hPos, hNeg, idArr, maskArr, budget);
                assertEquals(whole.length, chunked.length);
                for (int i = 0; i < whole.length; i++) {
                    assertEquals(whole[i], chunked[i], 1e-6, "budget " + budget + ", entry " + i);
                }
            }
            assertTrue(whole[0] > 0 && whole[0] < 1, "scores are probabilities: " + whole[0]);
            assertEquals(0f, whole[whole.length - 1], "padding scores 0");
        }
    }
}

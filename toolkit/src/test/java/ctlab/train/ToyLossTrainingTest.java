package ctlab.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.train.loss.LossInput;
import ctlab.train.loss.LossResult;
import ctlab.train.loss.PreferenceBatch;
import ctlab.train.loss.PreferenceLoss;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A loss defined here, in test sources, trains through the same {@link PreferenceTraining} path as the built-in
 * ones: the loop needs no code of its own per loss. The toy loss declares only the per-token KL, so the trainer
 * must compute that (reference logits each step) and nothing else it does not ask for.
 */
class ToyLossTrainingTest {
    @TempDir Path tmp;
    static int savedThreads;

    @BeforeAll static void oneThread() {
        ai.djl.engine.Engine.getInstance();                 // loads the native library before JniUtils
        savedThreads = JniUtils.getNumThreads();
        JniUtils.setNumThreads(1);
    }

    @AfterAll static void restoreThreads() { JniUtils.setNumThreads(savedThreads); }

    /** −(Σ log π(y⁺) − Σ log π(y⁻)) / 10 plus the mean chosen-side KL to the reference; no reference log-probs. */
    static class ToyMarginLoss implements PreferenceLoss {
        int calls;
        boolean sawKl, sawWeights, sawPositions;

        @Override public String name() { return "toy-margin"; }

        @Override public Set<LossInput> inputs() { return EnumSet.of(LossInput.SEQUENCE_KL); }

        @Override public LossResult compute(PreferenceBatch b) {
            calls++;
            sawKl |= b.chosenKl() != null && b.rejectedKl() != null;
            sawWeights |= b.chosenWeights() != null || b.rejectedWeights() != null;
            sawPositions |= b.officialPositions() != null;
            NDArray chosen = b.policyChosen().mul(b.chosenMask()).sum(new int[] {1});        // (B,)
            NDArray rejected = b.policyRejected().mul(b.rejectedMask()).sum(new int[] {1});  // (B,)
            NDArray kl = b.chosenKl().mul(b.chosenMask()).sum(new int[] {1}).mean();         // ()
            NDArray loss = chosen.sub(rejected).mean().neg().div(10f).add(kl);
            return new LossResult(loss, Map.of("toy/kl", (double) kl.getFloat()));
        }
    }

    static Path goldenLlama() throws URISyntaxException {
        return Path.of(ToyLossTrainingTest.class.getResource("/goldens/goldens.json").toURI()).getParent().resolve("llama");
    }

    @Test void aLossFromTestSourcesTrainsThroughTheSameLoop() throws Exception {
        String[][] data = {
                {"p1", "Question: 2 + 3 =", " 5. The answer is 5", " 6. The answer is 6"},
                {"p2", "Question: 4 + 4 =", " 8. The answer is 8", " 9. The answer is 9"},
                {"p3", "Question: 7 - 2 =", " 5. The answer is 5", " 4. The answer is 4"},
                {"p4", "Question: 3 * 3 =", " 9. The answer is 9", " 6. The answer is 6"}};
        ToyMarginLoss toy = new ToyMarginLoss();
        try (LlamaModel model = LlamaModel.load(goldenLlama(), Device.cpu())) {
            var tok = model.tokenizer();
            List<PreferenceTraining.EncodedPair> pairs = new java.util.ArrayList<>();
            for (String[] d : data) {           // no CE scores: the toy loss declares it needs none
                int[] prompt = tok.encodePrompt(d[1]);
                pairs.add(new PreferenceTraining.EncodedPair(d[0],
                        new ctlab.data.PromptResponse(prompt, tok.encodeResponse(d[2])).withEos(tok.eosId()),
                        new ctlab.data.PromptResponse(prompt, tok.encodeResponse(d[3])).withEos(tok.eosId()), null, null));
            }
            ReferenceLogps reference = ReferenceLogps.compute(model, pairs, 2, "toy");
            TrainConfig train = TrainConfig.builder().lr(1e-2).maxSteps(4).warmupSteps(0).seed(3).build();
            var config = new PreferenceTraining.Config(toy, new Lora.Config(4, 8, 0, List.of("q_proj", "v_proj")), train, 2, 96, 48, 1);
            Path out = tmp.resolve("toy");
            PreferenceTraining.Trained trained = PreferenceTraining.train(model, pairs, reference, config, out, Map.of());
            trained.lora().close();

            assertTrue(trained.result().finished(), "all steps ran");
            assertEquals(4, toy.calls, "one call per micro-batch step");
            assertTrue(toy.sawKl, "the declared input (per-token KL) was computed");
            assertFalse(toy.sawWeights, "CE weights were not asked for, so not passed");
            assertFalse(toy.sawPositions, "official positions were not asked for, so not passed");
            List<JsonNode> metrics = Jsonl.read(out.resolve("metrics.jsonl")).stream().map(Jsonl.Line::json).toList();
            assertFalse(metrics.isEmpty());
            assertTrue(metrics.get(0).has("toy/kl"), "the loss's own metric is logged: " + metrics.get(0));
            double first = metrics.get(0).get("loss").asDouble(), last = metrics.get(metrics.size() - 1).get("loss").asDouble();
            assertTrue(last < first, "the toy objective falls: " + first + " -> " + last);
            assertTrue(Files.exists(out.resolve("adapter_config.json")), "the adapter is saved like any other");

            // a declared input the data lacks is refused before training, naming the loss
            PreferenceLoss needsScores = new ToyMarginLoss() {
                @Override public Set<LossInput> inputs() { return EnumSet.of(LossInput.REJECTED_WEIGHTS); }
            };
            var bad = new PreferenceTraining.Config(needsScores, config.lora(), train, 2, 96, 48, 1);
            CtlabException e = assertThrows(CtlabException.class,
                    () -> PreferenceTraining.train(model, pairs, reference, bad, tmp.resolve("bad"), Map.of()));
            assertEquals("training pairs: loss 'toy-margin' needs rejected CE scores s⁻, which this data does not provide",
                    e.getMessage());
            assertFalse(Files.exists(tmp.resolve("bad")), "nothing written");
        }
    }
}

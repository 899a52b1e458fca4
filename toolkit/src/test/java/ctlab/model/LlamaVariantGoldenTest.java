package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import ctlab.sample.Sampler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Held-out engine checks against transformers (fixtures from tools/goldens/make_variant_goldens.py): MLP
 * activations other than SiLU, and {@code tie_word_embeddings: true} with a distinct {@code lm_head.weight} in
 * the file. Each fixture's variants.json also records how far the logits would be off if the variant were ignored,
 * so a pass here is not a pass by closeness.
 */
class LlamaVariantGoldenTest {
    static final double TOL = 1e-4;
    @TempDir Path tmp;

    static Path dir(String variant) { return Goldens.dir().resolve("variants").resolve(variant); }

    static JsonNode summary() throws Exception {
        return Jsonl.MAPPER.readTree(Files.readAllBytes(Goldens.dir().resolve("variants/variants.json")));
    }

    /** Max |ours - transformers| over the real (unpadded) positions of the fixture batch. */
    static double logitError(LlamaModel model, Path fixture, NDManager m) {
        Map<String, NDArray> g = Safetensors.read(fixture.resolve("golden.safetensors"), m);
        NDArray ids = g.get("input_ids"), mask = g.get("attention_mask");
        NDArray real = mask.toType(DataType.FLOAT32, false).expandDims(-1);
        return LlamaModelGoldenTest.maxAbsDiff(model.logits(ids, mask).mul(real), g.get("logits").mul(real));
    }

    static void assertGreedyMatches(LlamaModel model, JsonNode prompts, JsonNode expected, String what) {
        List<int[]> p = Goldens.intLists(prompts), e = Goldens.intLists(expected);
        for (int i = 0; i < p.size(); i++) {
            assertArrayEquals(e.get(i), Sampler.greedy(model, List.of(p.get(i)), 8, -1).get(0), what + " prompt " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gelu", "gelu_pytorch_tanh", "gelu_new", "relu"})
    void activationMatchesTransformers(String act) throws Exception {
        JsonNode s = summary();
        // the fixture is sensitive: computing it with SiLU would be far off
        assertTrue(s.get(act).get("silu_max_abs_diff").asDouble() > 100 * TOL, act + " fixture too close to SiLU");
        try (LlamaModel model = LlamaModel.load(dir(act), Goldens.device());
             NDManager m = NDManager.newBaseManager(Goldens.device())) {
            assertEquals(act, model.config().toJson().get("hidden_act").asText());
            double err = logitError(model, dir(act), m);
            System.out.printf("%s logits max abs err %.3g (SiLU would be %.3g)%n", act, err,
                    s.get(act).get("silu_max_abs_diff").asDouble());
            assertTrue(err <= TOL, act + " logits max abs error " + err);
            assertGreedyMatches(model, s.get("prompts"), s.get(act).get("greedy"), act);
        }
    }

    /** Saving writes back the activation the model was loaded with, and the saved folder computes the same. */
    @Test
    void savedGeluModelKeepsItsActivation() throws Exception {
        Path out = tmp.resolve("saved");
        try (LlamaModel a = LlamaModel.load(dir("gelu_pytorch_tanh"), Goldens.device());
             NDManager m = NDManager.newBaseManager(Goldens.device())) {
            a.save(out, Map.of());
            assertEquals("gelu_pytorch_tanh",
                    Jsonl.MAPPER.readTree(Files.readAllBytes(out.resolve("config.json"))).get("hidden_act").asText());
            try (LlamaModel b = LlamaModel.load(out, Goldens.device())) {
                assertEquals(a.config(), b.config());
                assertTrue(logitError(b, dir("gelu_pytorch_tanh"), m) <= TOL);
            }
        }
    }

    @Test
    void tiedConfigWithDistinctLmHeadMatchesTransformers() throws Exception {
        JsonNode s = summary().get("tied_distinct_head");
        try (LlamaModel model = LlamaModel.load(dir("tied_distinct_head"), Goldens.device());
             NDManager m = NDManager.newBaseManager(Goldens.device())) {
            assertTrue(model.config().tieWordEmbeddings());
            double err = logitError(model, dir("tied_distinct_head"), m);
            System.out.printf("tied_distinct_head logits max abs err %.3g%n", err);
            assertTrue(err <= TOL, "tied config with a distinct lm_head: logits max abs error " + err);
            assertGreedyMatches(model, summary().get("prompts"), s.get("greedy"), "tied_distinct_head");
        }
    }

    /** The distinct head survives a save and reload (it is not dropped because the config says tied). */
    @Test
    void tiedConfigWithDistinctLmHeadSurvivesSave() throws Exception {
        Path out = tmp.resolve("saved-tied");
        try (LlamaModel a = LlamaModel.load(dir("tied_distinct_head"), Goldens.device());
             NDManager m = NDManager.newBaseManager(Goldens.device())) {
            a.save(out, Map.of());
            try (LlamaModel b = LlamaModel.load(out, Goldens.device())) {
                assertEquals(a.config(), b.config());
                assertTrue(logitError(b, dir("tied_distinct_head"), m) <= TOL);
            }
        }
    }

    /** A tied file that also stores lm_head as a plain copy of the embeddings loads as before: one matrix. */
    @Test
    void tiedConfigWithCopiedLmHeadKeepsOneMatrix() throws Exception {
        Path src = Goldens.dir().resolve("qwen2"), out = tmp.resolve("copied-head");
        Files.createDirectories(out);
        Files.copy(src.resolve("config.json"), out.resolve("config.json"));
        try (NDManager m = NDManager.newBaseManager(Goldens.device())) {
            Map<String, NDArray> w = new java.util.LinkedHashMap<>(Safetensors.read(src.resolve("model.safetensors"), m));
            w.put("lm_head.weight", w.get("model.embed_tokens.weight").duplicate());
            Safetensors.write(out.resolve("model.safetensors"), w, Map.of("format", "pt"));
            try (LlamaModel model = LlamaModel.load(out, Goldens.device())) {
                assertTrue(!model.weights().containsKey("lm_head.weight"), "the copy should be dropped");
                assertTrue(LlamaModelGoldenTest.maxAbsDiff(
                        model.logits(m.create(new long[] {3, 4, 5}, new ai.djl.ndarray.types.Shape(1, 3)),
                                m.ones(new ai.djl.ndarray.types.Shape(1, 3))),
                        loadLogits(src, m)) == 0);
            }
        }
    }

    private static NDArray loadLogits(Path dir, NDManager m) {
        try (LlamaModel model = LlamaModel.load(dir, Goldens.device())) {
            return model.logits(m.create(new long[] {3, 4, 5}, new ai.djl.ndarray.types.Shape(1, 3)),
                    m.ones(new ai.djl.ndarray.types.Shape(1, 3)));
        }
    }

    /**
     * Training goes through the activation too: the gradient of a gate_proj weight (GCs forced between forward
     * and backward, so a scalar freed under autograd would show) matches finite differences.
     */
    @ParameterizedTest
    @ValueSource(strings = {"gelu", "gelu_pytorch_tanh", "gelu_new", "relu"})
    void activationBackwardMatchesFiniteDifferences(String act) {
        try (LlamaModel model = LlamaModel.load(dir(act), Goldens.device());
             NDManager m = NDManager.newBaseManager(Goldens.device())) {
            Map<String, NDArray> g = Safetensors.read(dir(act).resolve("golden.safetensors"), m);
            NDArray[] b = {g.get("input_ids"), g.get("attention_mask")};
            NDArray w = model.weight("model.layers.0.mlp.gate_proj.weight");
            float[] grad;
            w.setRequiresGradient(true);
            try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                NDArray loss = model.sequenceLogProbs(b[0], b[1]).sum().neg();
                for (int i = 0; i < 3; i++) System.gc();
                gc.backward(loss);
                try (NDArray gw = w.getGradient()) {
                    grad = gw.toFloatArray();
                }
            }
            w.setRequiresGradient(false);
            LlamaModelMemoryAndGradientTest.checkFiniteDifference(model, b, w, grad, new int[] {0, 100, 777, 1500});
        }
    }
}

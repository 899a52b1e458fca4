package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.sample.Sampler;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Our forward pass against transformers on the same tiny random checkpoints (fixtures from the script). */
class LlamaModelGoldenTest {
    static final double TOL = 1e-4;

    static double maxAbsDiff(NDArray a, NDArray b) {
        assertEquals(b.getShape(), a.getShape());
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
        return m;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral"})
    void logitsAndLogProbsMatchTransformers(String kind) {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve(kind), Goldens.device());
             NDManager m = NDManager.newBaseManager(Goldens.device())) {
            Map<String, NDArray> g = Safetensors.read(Goldens.dir().resolve(kind).resolve("golden.safetensors"), m);
            NDArray ids = g.get("input_ids"), mask = g.get("attention_mask");
            NDArray logits = model.logits(ids, mask);
            // compare only real (unpadded) positions: padded positions are undefined in both implementations
            NDArray realMask = mask.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).expandDims(-1);
            double err = maxAbsDiff(logits.mul(realMask), g.get("logits").mul(realMask));
            System.out.printf("%s logits max abs err %.3g%n", kind, err);
            assertTrue(err <= TOL, kind + " logits max abs error " + err);

            NDArray lp = model.sequenceLogProbs(ids, mask);
            double lpErr = maxAbsDiff(lp, g.get("logprobs"));
            System.out.printf("%s log-probs max abs err %.3g%n", kind, lpErr);
            assertTrue(lpErr <= TOL, kind + " log-prob max abs error " + lpErr);
        }
    }

    /** The Mistral fixture's window (6) is shorter than its sequences: full attention must not match. */
    @org.junit.jupiter.api.Test
    void slidingWindowMatters() {
        java.nio.file.Path dir = Goldens.dir().resolve("mistral");
        LlamaConfig cfg = LlamaConfig.load(dir.resolve("config.json"));
        assertEquals(6, cfg.slidingWindow());
        com.fasterxml.jackson.databind.node.ObjectNode j = cfg.toJson();
        j.putNull("sliding_window");
        LlamaConfig full = LlamaConfig.fromJson(j, "x");
        try (NDManager m = NDManager.newBaseManager(Goldens.device());
             LlamaModel model = LlamaModel.fromWeights(full, Safetensors.read(dir.resolve("model.safetensors"), m), Goldens.device())) {
            Map<String, NDArray> g = Safetensors.read(dir.resolve("golden.safetensors"), m);
            NDArray ids = g.get("input_ids"), mask = g.get("attention_mask");
            NDArray realMask = mask.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).expandDims(-1);
            double err = maxAbsDiff(model.logits(ids, mask).mul(realMask), g.get("logits").mul(realMask));
            assertTrue(err > 1e-2, "full attention should differ from the windowed reference, err " + err);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral"})
    void greedyMatchesHfGenerateExactly(String kind) {
        JsonNode s = Goldens.summary().get(kind);
        List<int[]> prompts = Goldens.intLists(s.get("prompts"));
        List<int[]> expected = Goldens.intLists(s.get("greedy"));
        int eos = s.get("eos_token_id").asInt();
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve(kind), Goldens.device())) {
            // one prompt at a time (as the script ran HF generate) ...
            for (int i = 0; i < prompts.size(); i++) {
                List<int[]> got = Sampler.greedy(model, List.of(prompts.get(i)), 10, eos);
                assertArrayEquals(expected.get(i), got.get(0), kind + " prompt " + i);
            }
            // ... and the same prompts as one left-padded batch through the KV cache
            List<int[]> batch = Sampler.greedy(model, prompts, 10, eos);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(expected.get(i), batch.get(i), kind + " batched prompt " + i);
            }
        }
    }

    /** prefill(prompt[:k]) + extend(prompt[k:]) + step(...) gives the teacher-forced logits of the whole text. */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "mistral"})
    void cacheExtendAndStepMatchTeacherForcing(String kind) {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve(kind), Goldens.device());
             NDManager m = NDManager.newBaseManager(Goldens.device());
             KvCache cache = model.newCache()) {
            Map<String, NDArray> g = Safetensors.read(Goldens.dir().resolve(kind).resolve("golden.safetensors"), m);
            NDArray full = g.get("logits");                                      // (3, T, V) right-padded batch
            NDArray ids = g.get("input_ids").get("1:2, :");                      // row 1 is unpadded (longest)
            long t = ids.getShape().get(1);
            NDArray l1 = model.prefill(cache, ids.get(":, :5"), m.ones(new ai.djl.ndarray.types.Shape(1, 5)));
            assertTrue(maxAbsDiff(l1, full.get("1, 4:5, :")) <= TOL);
            NDArray l2 = model.extend(cache, ids.get(":, 5:{}", t - 1));
            assertTrue(maxAbsDiff(l2, full.get("1, {}:{}, :", t - 2, t - 1)) <= TOL);
            NDArray l3 = model.step(cache, ids.get(":, {}:", t - 1));
            assertTrue(maxAbsDiff(l3, full.get("1, {}:, :", t - 1)) <= TOL);
            assertEquals(t, cache.length());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral"})
    void tokenizerMatchesHfTokenizers(String kind) {
        JsonNode t = Goldens.summary().get("tokenizer");
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve(kind), Goldens.device())) {
            Tokenizer tok = model.tokenizer();
            for (int i = 0; i < t.get("texts").size(); i++) {
                String text = t.get("texts").get(i).asText();
                long[] ids = tok.encode(text);
                int[] exp = Goldens.intLists(t.get("ids")).get(i);
                assertArrayEquals(java.util.Arrays.stream(exp).asLongStream().toArray(), ids, text);
                assertEquals(text, tok.decode(ids));
            }
            assertEquals(t.get("vocab_size").asInt(), tok.vocabSize());
            assertEquals(kind.equals("qwen2") ? -1 : 0, tok.bosId());
            assertEquals(1, tok.eosId());
        }
    }
}

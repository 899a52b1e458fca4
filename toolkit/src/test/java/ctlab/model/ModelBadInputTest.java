package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Config, weights and tokenizer that do not fit: each a CtlabException naming file and field/tensor. */
class ModelBadInputTest {
    @TempDir Path tmp;

    private static void assertMentions(CtlabException e, String... parts) {
        for (String s : parts) assertTrue(e.getMessage().contains(s), "message lacks '" + s + "': " + e.getMessage());
    }

    private Path copyModel(String kind) throws Exception {
        Path src = Goldens.dir().resolve(kind), dir = tmp.resolve(kind);
        Files.createDirectories(dir);
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"}) {
            Files.copy(src.resolve(f), dir.resolve(f));
        }
        return dir;
    }

    private static ObjectNode config(Path dir) throws Exception {
        return (ObjectNode) Jsonl.MAPPER.readTree(Files.readAllBytes(dir.resolve("config.json")));
    }

    private static void writeConfig(Path dir, ObjectNode c) throws Exception {
        Files.writeString(dir.resolve("config.json"), Jsonl.MAPPER.writeValueAsString(c));
    }

    @Test
    void configReadsBothTransformersLayouts() throws Exception {
        LlamaConfig v5 = LlamaConfig.load(Goldens.dir().resolve("llama/config.json"));
        assertEquals(500000.0, v5.ropeTheta());
        assertEquals(new LlamaConfig.RopeScaling(8, 1, 4, 64), v5.ropeScaling());
        assertEquals(2, v5.groupSize());
        assertEquals(0, v5.bosTokenId());
        LlamaConfig qwen = LlamaConfig.load(Goldens.dir().resolve("qwen2/config.json"));
        assertTrue(qwen.qkvBias() && qwen.tieWordEmbeddings() && !qwen.oBias());
        assertEquals(-1, qwen.bosTokenId());
        // transformers-4 style (rope_theta + rope_scaling + torch_dtype, eos list) round-trips through toJson
        LlamaConfig again = LlamaConfig.fromJson(v5.toJson(), "x");
        assertEquals(v5, again);
        ObjectNode c = v5.toJson();
        c.putArray("eos_token_id").add(1).add(7);
        assertEquals(java.util.List.of(1, 7), LlamaConfig.fromJson(c, "x").eosTokenIds());
    }

    @Test
    void unknownArchitectureMissingFieldAndUnsupportedRope() throws Exception {
        Path dir = copyModel("llama");
        ObjectNode c = config(dir);
        c.putArray("architectures").add("GPT2LMHeadModel");
        writeConfig(dir, c);
        CtlabException e = assertThrows(CtlabException.class, () -> LlamaModel.load(dir, Device.cpu()));
        assertMentions(e, "config.json", "architectures", "GPT2LMHeadModel");

        c = config(copyModelAgain("llama", "b"));
        c.remove("num_hidden_layers");
        Path dirB = tmp.resolve("b");
        writeConfig(dirB, c);
        e = assertThrows(CtlabException.class, () -> LlamaModel.load(dirB, Device.cpu()));
        assertMentions(e, dirB.resolve("config.json").toString(), "missing field 'num_hidden_layers'");

        c = config(dirB);
        c.put("num_hidden_layers", 2);
        ((ObjectNode) c.get("rope_parameters")).put("rope_type", "yarn");
        writeConfig(dirB, c);
        e = assertThrows(CtlabException.class, () -> LlamaModel.load(dirB, Device.cpu()));
        assertMentions(e, "config.json", "rope_parameters", "yarn");

        c.put("num_key_value_heads", 3);
        ((ObjectNode) c.get("rope_parameters")).put("rope_type", "llama3");
        writeConfig(dirB, c);
        e = assertThrows(CtlabException.class, () -> LlamaModel.load(dirB, Device.cpu()));
        assertMentions(e, "config.json", "num_key_value_heads");
    }

    /** A hidden_act we do not compute is refused by name, not computed as SiLU; a non-string one too. */
    @Test
    void unsupportedHiddenActIsRefusedByName() throws Exception {
        Path dir = copyModel("llama");
        ObjectNode c = config(dir);
        c.put("hidden_act", "xielu");
        writeConfig(dir, c);
        CtlabException e = assertThrows(CtlabException.class, () -> LlamaModel.load(dir, Device.cpu()));
        assertMentions(e, dir.resolve("config.json").toString(), "hidden_act", "xielu", "gelu_pytorch_tanh");
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());

        c.put("hidden_act", 3);
        writeConfig(dir, c);
        e = assertThrows(CtlabException.class, () -> LlamaModel.load(dir, Device.cpu()));
        assertMentions(e, "config.json", "hidden_act", "string");

        c.remove("hidden_act");  // absent: transformers' default, SiLU
        writeConfig(dir, c);
        assertEquals("silu", LlamaConfig.load(dir.resolve("config.json")).toJson().get("hidden_act").asText());
    }

    /** A tied config's extra lm_head.weight is used (as transformers does), so its shape must fit. */
    @Test
    void tiedConfigWithMisshapenLmHead() throws Exception {
        Path dir = copyModel("qwen2");
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> w = new LinkedHashMap<>(Safetensors.read(dir.resolve("model.safetensors"), m));
            w.put("lm_head.weight", m.zeros(new ai.djl.ndarray.types.Shape(7, 64)));
            Files.delete(dir.resolve("model.safetensors"));
            Safetensors.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        }
        CtlabException e = assertThrows(CtlabException.class, () -> LlamaModel.load(dir, Device.cpu()));
        assertMentions(e, dir.toString(), "lm_head.weight", "(7, 64)");
    }

    private Path copyModelAgain(String kind, String name) throws Exception {
        Path src = Goldens.dir().resolve(kind), dir = tmp.resolve(name);
        Files.createDirectories(dir);
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) Files.copy(src.resolve(f), dir.resolve(f));
        return dir;
    }

    @Test
    void missingTensorForConfigAndWrongShape() throws Exception {
        Path dir = copyModel("llama");
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> w = new LinkedHashMap<>(Safetensors.read(dir.resolve("model.safetensors"), m));
            w.remove("model.layers.1.mlp.up_proj.weight");
            Safetensors.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
            CtlabException e = assertThrows(CtlabException.class, () -> LlamaModel.load(dir, Device.cpu()));
            assertMentions(e, dir.toString(), "model.layers.1.mlp.up_proj.weight", "missing");

            w.put("model.layers.1.mlp.up_proj.weight", m.zeros(new ai.djl.ndarray.types.Shape(64, 64)));
            Safetensors.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
            e = assertThrows(CtlabException.class, () -> LlamaModel.load(dir, Device.cpu()));
            assertMentions(e, "model.layers.1.mlp.up_proj.weight", "(64, 64)", "(128, 64)");

            w.put("model.layers.1.mlp.up_proj.weight", m.zeros(new ai.djl.ndarray.types.Shape(128, 64)));
            w.put("model.layers.1.self_attn.q_norm.weight", m.ones(new ai.djl.ndarray.types.Shape(16)));
            Safetensors.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
            e = assertThrows(CtlabException.class, () -> LlamaModel.load(dir, Device.cpu()));
            assertMentions(e, "unexpected tensor 'model.layers.1.self_attn.q_norm.weight'");
        }
    }

    @Test
    void tokenizerWithMoreIdsThanEmbeddingRows() throws Exception {
        // a consistent 200-row model saved by ctlab, next to the golden tokenizer (292 ids)
        LlamaConfig small = LlamaConfig.fromJson(withVocab(LlamaConfig.load(Goldens.dir().resolve("llama/config.json")), 200), "x");
        Path dir = tmp.resolve("small");
        try (LlamaModel model = LlamaModel.random(small, 1, 0.02, Device.cpu())) {
            model.save(dir, Map.of("ctlab.test", "vocab"));
        }
        Files.copy(Goldens.dir().resolve("llama/tokenizer.json"), dir.resolve("tokenizer.json"));
        CtlabException e = assertThrows(CtlabException.class, () -> LlamaModel.load(dir, Device.cpu()));
        int ids = Goldens.summary().get("tokenizer").get("vocab_size").asInt();  // 292
        assertMentions(e, "tokenizer.json", ids + " token ids", "only 200 rows");
        // more embedding rows than tokenizer ids is normal (padded embeddings)
        LlamaConfig big = LlamaConfig.fromJson(withVocab(small, 320), "x");
        Path dir2 = tmp.resolve("big");
        try (LlamaModel model = LlamaModel.random(big, 1, 0.02, Device.cpu())) {
            model.save(dir2, Map.of());
        }
        Files.copy(Goldens.dir().resolve("llama/tokenizer.json"), dir2.resolve("tokenizer.json"));
        try (LlamaModel ok = LlamaModel.load(dir2, Device.cpu())) {
            assertEquals(Goldens.summary().get("tokenizer").get("vocab_size").asInt(), ok.tokenizer().vocabSize());
            assertEquals(0, ok.tokenizer().bosId());
        }
    }

    private static ObjectNode withVocab(LlamaConfig c, int vocab) {
        ObjectNode j = c.toJson();
        j.put("vocab_size", vocab);
        return j;
    }

    @Test
    void savedModelReloadsIdentically() throws Exception {
        Path dir = tmp.resolve("saved");
        try (LlamaModel a = LlamaModel.load(Goldens.dir().resolve("qwen2"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            a.save(dir, Map.of("ctlab.source", "golden"));
            assertEquals("pt", Safetensors.readHeader(dir.resolve("model.safetensors")).metadata().get("format"));
            assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")));
            try (LlamaModel b = LlamaModel.load(dir, Device.cpu())) {
                assertEquals(a.config(), b.config());
                Map<String, NDArray> g = Safetensors.read(Goldens.dir().resolve("qwen2/golden.safetensors"), m);
                assertTrue(a.logits(g.get("input_ids"), g.get("attention_mask"))
                        .contentEquals(b.logits(g.get("input_ids"), g.get("attention_mask"))));
            }
        }
    }
}

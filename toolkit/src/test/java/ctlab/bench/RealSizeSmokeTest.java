package ctlab.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.io.Jsonl;
import ctlab.model.LlamaConfig;
import ctlab.model.LlamaModel;
import ctlab.model.Safetensors;
import ctlab.model.Tokenizer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CI-sized real-size smoke: Qwen2.5-0.5B's widths and its 151936-entry vocabulary, 2 decoder layers instead of
 * 24, through {@link RealSizeSmoke#run} (sample 8 prompts → CE with two adapters → one cDPO step → save). The full
 * run (tools/realsize/make_model.py + RealSizeSmoke.main) is documented in docs/real-size.md.
 */
@Tag("slow")
class RealSizeSmokeTest {
    static final int VOCAB = 151936;

    @Test
    void reducedQwenShapeRunsEveryStage(@TempDir Path tmp) throws Exception {
        String cfgJson = """
                {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896,
                 "num_hidden_layers": 2, "num_attention_heads": 14, "num_key_value_heads": 2,
                 "intermediate_size": 4864, "vocab_size": %d, "tie_word_embeddings": true, "rope_theta": 1000000.0,
                 "rms_norm_eps": 1e-6, "max_position_embeddings": 32768, "hidden_act": "silu",
                 "bos_token_id": %d, "eos_token_id": %d}""".formatted(VOCAB, VOCAB - 1, VOCAB - 1);
        Files.writeString(tmp.resolve("config.json"), cfgJson);
        writeByteLevelTokenizer(tmp.resolve(Tokenizer.FILE));
        LlamaConfig cfg = LlamaConfig.load(tmp.resolve("config.json"));
        Path out = tmp.resolve("policy");
        try (LlamaModel model = LlamaModel.random(cfg, 5, 0.02, Device.cpu())) {
            model.setTokenizer(Tokenizer.load(tmp, cfg));
            List<RealSizeSmoke.StageTime> times = RealSizeSmoke.run(model, out, 8, System.out);
            assertEquals(List.of("sample", "ce", "cdpo_step+save"), times.stream().map(RealSizeSmoke.StageTime::stage).toList());
        }
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> adapter = Safetensors.read(out.resolve("adapter_model.safetensors"), m);
            // r 16 on all seven projections of 2 layers: A and B each
            assertEquals(2 * 7 * 2, adapter.size(), adapter.keySet().toString());
            NDArray a = adapter.get("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight");
            assertEquals(new ai.djl.ndarray.types.Shape(16, 4864), a.getShape());
        }
    }

    /**
     * A byte-level BPE tokenizer.json with the real vocabulary width and no merges: the 256 byte symbols, then entries no
     * merge produces, then the special tokens at the top (EOS = vocab - 1).
     */
    static void writeByteLevelTokenizer(Path file) throws Exception {
        ObjectNode root = Jsonl.MAPPER.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode eos = added.addObject();
        eos.put("id", VOCAB - 1).put("content", "<|endoftext|>").put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", true);
        root.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false).put("use_regex", false);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout").putNull("unk_token").putNull("continuing_subword_prefix")
                .putNull("end_of_word_suffix").put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        int id = 0;
        for (int b = 0; b < 256; b++) vocab.put(byteSymbol(b), id++);
        while (id < VOCAB - 1) vocab.put("<unused_" + id + ">", id++);
        model.putArray("merges");
        Files.writeString(file, Jsonl.MAPPER.writeValueAsString(root));
    }

    /** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upwards. */
    static String byteSymbol(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) return String.valueOf((char) b);
        int n = 0;
        for (int x = 0; x < b; x++) {
            boolean p = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            if (!p) n++;
        }
        return String.valueOf((char) (256 + n));
    }
}

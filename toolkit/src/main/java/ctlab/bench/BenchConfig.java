package ctlab.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.model.LlamaConfig;

import java.util.List;

/**
 * What {@code ctlab bench} measures: one Llama model shape, the batch shapes of each phase and how many
 * iterations are timed. Both sides (ctlab and the PyTorch reference) get exactly these numbers.
 *
 * @param layers       decoder layers
 * @param hidden       hidden size d
 * @param heads        attention heads (head dim = hidden / heads)
 * @param kvHeads      key/value heads (GQA when fewer than heads)
 * @param intermediate MLP width
 * @param vocab        vocabulary size
 * @param batch        rows of the forward and train batches
 * @param seq          tokens per row of the forward and train batches
 * @param prompt       prompt tokens per row in the decode phases
 * @param newTokens    generated tokens per row in the decode phases (greedy, no EOS)
 * @param decodeBatches batch sizes of the decode phases
 * @param warmup       untimed iterations (generations for decode) before each phase; the JVM's JIT needs a few
 * @param iters        timed iterations of the forward and train phases
 * @param decodeIters  timed generations per decode phase
 * @param seed         weights and token ids
 */
public record BenchConfig(
        @JsonProperty("layers") int layers,
        @JsonProperty("hidden") int hidden,
        @JsonProperty("heads") int heads,
        @JsonProperty("kv_heads") int kvHeads,
        @JsonProperty("intermediate") int intermediate,
        @JsonProperty("vocab") int vocab,
        @JsonProperty("batch") int batch,
        @JsonProperty("seq") int seq,
        @JsonProperty("prompt") int prompt,
        @JsonProperty("new_tokens") int newTokens,
        @JsonProperty("decode_batches") List<Integer> decodeBatches,
        @JsonProperty("warmup") int warmup,
        @JsonProperty("iters") int iters,
        @JsonProperty("decode_iters") int decodeIters,
        @JsonProperty("seed") long seed) {

    /** Learning rate and weight decay of the train phase on both sides (AdamW, clip 1.0). */
    public static final double LR = 1e-4;
    public static final double WEIGHT_DECAY = 0.01;

    public BenchConfig {
        positive("layers", layers);
        positive("hidden", hidden);
        positive("heads", heads);
        positive("kv-heads", kvHeads);
        positive("intermediate", intermediate);
        positive("vocab", vocab);
        positive("batch", batch);
        positive("seq", seq);
        positive("prompt", prompt);
        positive("new-tokens", newTokens);
        positive("warmup", warmup);
        positive("iters", iters);
        positive("decode-iters", decodeIters);
        if (hidden % heads != 0) throw new CtlabException("bench: hidden " + hidden + " is not divisible by heads " + heads);
        if (heads % kvHeads != 0) throw new CtlabException("bench: heads " + heads + " is not a multiple of kv-heads " + kvHeads);
        if ((hidden / heads) % 2 != 0) throw new CtlabException("bench: head dim " + hidden / heads + " must be even (RoPE)");
        if (seq < 2) throw new CtlabException("bench: seq must be >= 2 for a next-token loss, got " + seq);
        decodeBatches = List.copyOf(decodeBatches);
        if (decodeBatches.isEmpty()) throw new CtlabException("bench: decode-batches is empty");
        for (int b : decodeBatches) positive("decode-batches", b);
    }

    /** The default bench model: 2 layers, d=128, batch 32×128; decode 16-token prompts + 64 new tokens. */
    public static BenchConfig defaults() {
        return new BenchConfig(2, 128, 4, 4, 512, 512, 32, 128, 16, 64, List.of(1, 32), 3, 10, 5, 1234);
    }

    private static void positive(String option, long v) {
        if (v <= 0) throw new CtlabException("bench: --" + option + " must be > 0, got " + v);
    }

    public int headDim() { return hidden / heads; }

    /** The HF config.json both sides build their model from (no BOS/EOS: generation never stops early). */
    public ObjectNode hfConfigJson() {
        ObjectNode n = Jsonl.MAPPER.createObjectNode();
        n.putArray("architectures").add("LlamaForCausalLM");
        n.put("model_type", "llama");
        n.put("hidden_size", hidden);
        n.put("intermediate_size", intermediate);
        n.put("num_hidden_layers", layers);
        n.put("num_attention_heads", heads);
        n.put("num_key_value_heads", kvHeads);
        n.put("head_dim", headDim());
        n.put("rms_norm_eps", 1e-6);
        n.put("rope_theta", 10000.0);
        n.put("vocab_size", vocab);
        n.put("max_position_embeddings", Math.max(seq, prompt + newTokens));
        n.put("tie_word_embeddings", false);
        n.put("attention_bias", false);
        n.put("mlp_bias", false);
        n.put("torch_dtype", "float32");
        return n;
    }

    public LlamaConfig llamaConfig() { return LlamaConfig.fromJson(hfConfigJson(), "bench config"); }

    /** One line for the report header. */
    public String describe() {
        return String.format(java.util.Locale.ROOT,
                "Llama %d layers, d=%d, %d heads (%d kv, head dim %d), MLP %d, vocab %d, fp32; forward/train batch %dx%d; "
                        + "decode %d-token prompt + %d new tokens at batch %s",
                layers, hidden, heads, kvHeads, headDim(), intermediate, vocab, batch, seq, prompt, newTokens,
                decodeBatches.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(", ")));
    }
}

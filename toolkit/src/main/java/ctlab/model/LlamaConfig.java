package ctlab.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The decoder hyper-parameters read from a Hugging Face {@code config.json}. One record covers the Llama
 * family: LlamaForCausalLM (Llama-3, DeepSeek-math, SmolLM), MistralForCausalLM (same math) and
 * Qwen2ForCausalLM (q/k/v bias). Both the transformers 4 layout ({@code rope_theta}, {@code rope_scaling},
 * {@code torch_dtype}) and the transformers 5 layout ({@code rope_parameters}, {@code dtype}) are read.
 *
 * @param ropeScaling null for plain RoPE, else the Llama-3.1 frequency rescaling
 * @param slidingWindow Mistral's attention window (a query sees keys less than this many positions back),
 *                      0 for full causal attention
 * @param bosTokenIds config.json's {@code bos_token_id}, empty when null; whether a prompt starts with BOS is the
 *                    tokenizer's call ({@link Tokenizer#encodePrompt}), not this field's (Qwen2 names one, adds none)
 * @param hiddenAct the MLP activation as {@code config.json} names it (one of {@link #ACTIVATIONS}); kept verbatim
 *                  so saving writes back what was loaded
 */
public record LlamaConfig(
        Architecture architecture,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int vocabSize,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean mlpBias,
        List<Integer> bosTokenIds,
        List<Integer> eosTokenIds,
        String torchDtype,
        int slidingWindow,
        String hiddenAct) {

    /**
     * The {@code hidden_act} values we compute, with transformers' meaning (ACT2FN): silu = swish = x·σ(x);
     * gelu = exact (erf) GELU; gelu_pytorch_tanh = gelu_new = the tanh approximation; relu. Any other name is
     * refused rather than silently computed as something else.
     */
    public static final List<String> ACTIVATIONS = List.of("silu", "swish", "gelu", "gelu_pytorch_tanh", "gelu_new", "relu");

    /** A config with the SiLU MLP activation (the Llama default). */
    public LlamaConfig(Architecture architecture, int hiddenSize, int intermediateSize, int numHiddenLayers,
                       int numAttentionHeads, int numKeyValueHeads, int headDim, double rmsNormEps, double ropeTheta,
                       RopeScaling ropeScaling, int vocabSize, int maxPositionEmbeddings, boolean tieWordEmbeddings,
                       boolean attentionBias, boolean mlpBias, List<Integer> bosTokenIds, List<Integer> eosTokenIds,
                       String torchDtype, int slidingWindow) {
        this(architecture, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim,
                rmsNormEps, ropeTheta, ropeScaling, vocabSize, maxPositionEmbeddings, tieWordEmbeddings, attentionBias,
                mlpBias, bosTokenIds, eosTokenIds, torchDtype, slidingWindow, "silu");
    }

    /** The model classes we can run; all share one forward pass and differ in bias and tying defaults. */
    public enum Architecture {
        LLAMA("LlamaForCausalLM"), MISTRAL("MistralForCausalLM"), QWEN2("Qwen2ForCausalLM");

        public final String hfName;

        Architecture(String hfName) { this.hfName = hfName; }

        static Architecture fromHf(String name) {
            for (Architecture a : values()) if (a.hfName.equals(name)) return a;
            return null;
        }
    }

    /** Llama-3.1 RoPE rescaling ({@code rope_type: "llama3"}). */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {
        public RopeScaling {
            if (!(factor > 0) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor)
                    || originalMaxPositionEmbeddings <= 0) {
                throw new IllegalArgumentException("invalid llama3 rope scaling: factor=" + factor
                        + " low_freq_factor=" + lowFreqFactor + " high_freq_factor=" + highFreqFactor
                        + " original_max_position_embeddings=" + originalMaxPositionEmbeddings);
            }
        }
    }

    public LlamaConfig {
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        positive("vocab_size", vocabSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (architecture == null) throw new IllegalArgumentException("architecture is null");
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numAttentionHeads
                    + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim must be even for RoPE, got " + headDim);
        if (!(rmsNormEps > 0)) throw new IllegalArgumentException("rms_norm_eps must be > 0, got " + rmsNormEps);
        if (!(ropeTheta > 0)) throw new IllegalArgumentException("rope_theta must be > 0, got " + ropeTheta);
        if (slidingWindow < 0) throw new IllegalArgumentException("sliding_window must be >= 0, got " + slidingWindow);
        if (!ACTIVATIONS.contains(hiddenAct)) {
            throw new IllegalArgumentException("field 'hidden_act': activation '" + hiddenAct
                    + "' is not supported (supported: " + String.join(", ", ACTIVATIONS) + ")");
        }
        bosTokenIds = List.copyOf(bosTokenIds);
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    private static void positive(String field, int v) {
        if (v <= 0) throw new IllegalArgumentException(field + " must be > 0, got " + v);
    }

    /** Query heads per key/value head (GQA group size). */
    public int groupSize() { return numAttentionHeads / numKeyValueHeads; }

    /** Whether q/k/v projections carry a bias (always for Qwen2, {@code attention_bias} otherwise). */
    public boolean qkvBias() { return architecture == Architecture.QWEN2 || attentionBias; }

    /** Whether o_proj carries a bias (Llama's {@code attention_bias}; never for Qwen2). */
    public boolean oBias() { return architecture != Architecture.QWEN2 && attentionBias; }

    /** The first BOS id, or -1 when the model has none. */
    public int bosTokenId() { return bosTokenIds.isEmpty() ? -1 : bosTokenIds.get(0); }

    /** Reads {@code config.json}; any problem is a CtlabException naming the file and the field. */
    public static LlamaConfig load(Path configJson) {
        JsonNode root;
        try {
            root = Jsonl.MAPPER.readTree(Files.readAllBytes(configJson));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new CtlabException(configJson + ": not found (a model folder has config.json)", e);
        } catch (IOException e) {
            throw new CtlabException(configJson + ": cannot read model config: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw new CtlabException(configJson + ": not a JSON object");
        return fromJson(root, configJson.toString());
    }

    /** Parses an already-read config; {@code where} names the source in error messages. */
    public static LlamaConfig fromJson(JsonNode root, String where) {
        JsonNode archs = root.get("architectures");
        if (archs == null || !archs.isArray() || archs.isEmpty()) {
            throw new CtlabException(where + ": missing field 'architectures' (expected e.g. [\"LlamaForCausalLM\"])");
        }
        String archName = archs.get(0).asText();
        Architecture arch = Architecture.fromHf(archName);
        if (arch == null) {
            throw new CtlabException(where + ": field 'architectures': unsupported architecture '" + archName
                    + "' (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
        }
        Reader r = new Reader(root, where);
        int hidden = r.reqInt("hidden_size");
        int heads = r.reqInt("num_attention_heads");
        int kvHeads = r.optInt("num_key_value_heads", heads);
        int headDim = r.optInt("head_dim", -1);
        if (headDim <= 0) {
            if (hidden % heads != 0) {
                throw new CtlabException(where + ": field 'head_dim' is missing and hidden_size " + hidden
                        + " is not divisible by num_attention_heads " + heads);
            }
            headDim = hidden / heads;
        }
        JsonNode ropeParams = root.get("rope_parameters");  // transformers 5
        JsonNode ropeScalingNode = root.get("rope_scaling");  // transformers 4
        double theta;
        if (root.hasNonNull("rope_theta")) {
            theta = r.reqDouble("rope_theta");
        } else if (ropeParams != null && ropeParams.hasNonNull("rope_theta")) {
            theta = new Reader(ropeParams, where + " rope_parameters").reqDouble("rope_theta");
        } else {
            theta = 10000.0;  // HF's default for Llama when the key is absent
        }
        RopeScaling scaling = null;
        JsonNode scalingSource = ropeScalingNode != null && !ropeScalingNode.isNull() ? ropeScalingNode : ropeParams;
        String scalingKey = scalingSource == ropeScalingNode ? "rope_scaling" : "rope_parameters";
        if (scalingSource != null && !scalingSource.isNull()) {
            Reader s = new Reader(scalingSource, where + " " + scalingKey);
            String type = scalingSource.hasNonNull("rope_type") ? scalingSource.get("rope_type").asText()
                    : scalingSource.hasNonNull("type") ? scalingSource.get("type").asText() : "default";
            switch (type) {
                case "default" -> { }
                case "llama3" -> {
                    try {
                        scaling = new RopeScaling(s.reqDouble("factor"), s.reqDouble("low_freq_factor"),
                                s.reqDouble("high_freq_factor"), s.reqInt("original_max_position_embeddings"));
                    } catch (IllegalArgumentException e) {
                        throw new CtlabException(where + ": field '" + scalingKey + "': " + e.getMessage());
                    }
                }
                default -> throw new CtlabException(where + ": field '" + scalingKey + "': rope type '" + type
                        + "' is not supported (supported: default, llama3)");
            }
        }
        boolean tieDefault = false;  // transformers' default for all three; Qwen2 small sizes set it to true
        String dtype = root.hasNonNull("torch_dtype") ? root.get("torch_dtype").asText()
                : root.hasNonNull("dtype") ? root.get("dtype").asText() : "float32";
        JsonNode act = root.get("hidden_act");
        if (act != null && !act.isNull() && !act.isTextual()) {
            throw new CtlabException(where + ": field 'hidden_act' must be a string, got " + act);
        }
        String hiddenAct = act == null || act.isNull() ? "silu" : act.asText();  // transformers' Llama default
        int window = 0;
        if (arch == Architecture.MISTRAL) {
            window = r.optInt("sliding_window", 0);
        } else if (arch == Architecture.QWEN2 && r.optBool("use_sliding_window", false)) {
            throw new CtlabException(where + ": field 'use_sliding_window': Qwen2 per-layer sliding-window attention "
                    + "is not supported");
        }
        try {
            return new LlamaConfig(arch, hidden, r.reqInt("intermediate_size"), r.reqInt("num_hidden_layers"),
                    heads, kvHeads, headDim, r.reqDouble("rms_norm_eps"), theta, scaling, r.reqInt("vocab_size"),
                    r.optInt("max_position_embeddings", 2048), r.optBool("tie_word_embeddings", tieDefault),
                    r.optBool("attention_bias", false), r.optBool("mlp_bias", false),
                    r.ids("bos_token_id"), r.ids("eos_token_id"), dtype, window, hiddenAct);
        } catch (IllegalArgumentException e) {
            throw new CtlabException(where + ": " + e.getMessage());
        }
    }

    /** Serialises back to an HF-style config.json (transformers 4 key names, which both 4 and 5 read). */
    public ObjectNode toJson() {
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        o.putArray("architectures").add(architecture.hfName);
        o.put("model_type", switch (architecture) {
            case LLAMA -> "llama";
            case MISTRAL -> "mistral";
            case QWEN2 -> "qwen2";
        });
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_key_value_heads", numKeyValueHeads);
        o.put("head_dim", headDim);
        o.put("hidden_act", hiddenAct);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        if (ropeScaling != null) {
            ObjectNode s = o.putObject("rope_scaling");
            s.put("rope_type", "llama3");
            s.put("factor", ropeScaling.factor());
            s.put("low_freq_factor", ropeScaling.lowFreqFactor());
            s.put("high_freq_factor", ropeScaling.highFreqFactor());
            s.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
        }
        o.put("vocab_size", vocabSize);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        if (architecture != Architecture.QWEN2) {
            o.put("attention_bias", attentionBias);
            o.put("mlp_bias", mlpBias);
        }
        putIds(o, "bos_token_id", bosTokenIds);
        putIds(o, "eos_token_id", eosTokenIds);
        o.put("torch_dtype", torchDtype);
        if (architecture == Architecture.MISTRAL) {
            if (slidingWindow > 0) o.put("sliding_window", slidingWindow);
            else o.putNull("sliding_window");
        }
        return o;
    }

    private static void putIds(ObjectNode o, String key, List<Integer> ids) {
        if (ids.isEmpty()) o.putNull(key);
        else if (ids.size() == 1) o.put(key, ids.get(0));
        else ids.forEach(o.putArray(key)::add);
    }

    /** Typed field access with errors that name the file and the field. */
    private record Reader(JsonNode node, String where) {
        int reqInt(String f) {
            JsonNode v = node.get(f);
            if (v == null || v.isNull()) throw new CtlabException(where + ": missing field '" + f + "'");
            if (!v.canConvertToInt() || !v.isIntegralNumber()) {
                throw new CtlabException(where + ": field '" + f + "' must be an integer, got " + v);
            }
            return v.intValue();
        }

        int optInt(String f, int dflt) {
            JsonNode v = node.get(f);
            return v == null || v.isNull() ? dflt : reqInt(f);
        }

        double reqDouble(String f) {
            JsonNode v = node.get(f);
            if (v == null || v.isNull()) throw new CtlabException(where + ": missing field '" + f + "'");
            if (!v.isNumber()) throw new CtlabException(where + ": field '" + f + "' must be a number, got " + v);
            return v.doubleValue();
        }

        boolean optBool(String f, boolean dflt) {
            JsonNode v = node.get(f);
            if (v == null || v.isNull()) return dflt;
            if (!v.isBoolean()) throw new CtlabException(where + ": field '" + f + "' must be true or false, got " + v);
            return v.booleanValue();
        }

        /** A token id field that may be absent, null, an int or a list of ints. */
        List<Integer> ids(String f) {
            JsonNode v = node.get(f);
            List<Integer> out = new ArrayList<>();
            if (v == null || v.isNull()) return out;
            if (v.isArray()) {
                for (JsonNode e : v) {
                    if (!e.isIntegralNumber()) throw new CtlabException(where + ": field '" + f + "' must hold integers, got " + v);
                    out.add(e.intValue());
                }
            } else if (v.isIntegralNumber()) {
                out.add(v.intValue());
            } else {
                throw new CtlabException(where + ": field '" + f + "' must be an integer or a list, got " + v);
            }
            return out;
        }
    }
}

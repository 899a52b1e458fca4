package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A functional Llama-family decoder: the weights live in a map of NDArrays (HF tensor names) owned by the
 * model's NDManager, and the forward pass composes NDArray ops. RMSNorm, rotary embeddings in the HF
 * convention (rotate-half on the HF q/k layout), grouped-query attention, gated MLP with the config's
 * {@code hidden_act} (SwiGLU for silu), optional q/k/v bias and tied embeddings; optional LoRA adapters ({@link Lora}).
 *
 * <p>Memory rule: every op is written with the per-call activation as its first operand, so results attach
 * to the caller's NDManager (the manager of the {@code ids} passed in), never to the weights' manager.
 * Inference intermediates are freed layer by layer through {@link NDScope}.
 */
public final class LlamaModel implements AutoCloseable {
    /** Additive attention bias for masked keys; finite so a fully masked (padding) row cannot produce NaN. */
    private static final float MASKED = -1e9f;

    private final LlamaConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> weights;
    private final float[] invFreq;
    private final Path sourceDir;
    private Tokenizer tokenizer;
    private Lora lora;
    private boolean training;

    private LlamaModel(LlamaConfig config, NDManager manager, Map<String, NDArray> weights, Path sourceDir) {
        this.config = config;
        this.manager = manager;
        this.weights = weights;
        this.sourceDir = sourceDir;
        this.invFreq = inverseFrequencies(config);
    }

    // ------------------------------------------------------------------ loading and saving

    /**
     * Loads a Hugging Face model folder: {@code config.json}, {@code model.safetensors} (or sharded with
     * {@code model.safetensors.index.json}), and {@code tokenizer.json} when present.
     */
    public static LlamaModel load(Path modelDir, Device device) {
        if (!Files.isDirectory(modelDir)) {
            throw new CtlabException(modelDir + (Files.exists(modelDir) ? ": not a model folder (a file)" : ": model folder not found"));
        }
        LlamaConfig cfg = LlamaConfig.load(modelDir.resolve("config.json"));
        NDManager mgr = NDManager.newBaseManager(Devices.inUse(device));
        try {
            Map<String, NDArray> raw = Safetensors.readModel(modelDir, mgr);
            LlamaModel m = new LlamaModel(cfg, mgr, checkWeights(cfg, raw, modelDir.toString()), modelDir);
            if (Files.isRegularFile(modelDir.resolve(Tokenizer.FILE))) {
                m.tokenizer = Tokenizer.load(modelDir, cfg);
            }
            return m;
        } catch (RuntimeException e) {
            mgr.close();
            throw e;
        }
    }

    /** Loads on the default device ({@link Devices#fromEnvironment()}: ctlab.device, CTLAB_DEVICE, else cpu). */
    public static LlamaModel load(Path modelDir) { return load(modelDir, Devices.fromEnvironment()); }

    /** Builds a model from in-memory weights (HF names); the arrays are moved to the model's manager. */
    public static LlamaModel fromWeights(LlamaConfig cfg, Map<String, NDArray> weights, Device device) {
        NDManager mgr = NDManager.newBaseManager(Devices.inUse(device));
        try {
            Map<String, NDArray> moved = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : weights.entrySet()) {
                NDArray a = e.getValue().getDevice().equals(device) ? e.getValue() : e.getValue().toDevice(device, true);
                a.attach(mgr);
                moved.put(e.getKey(), a);
            }
            return new LlamaModel(cfg, mgr, checkWeights(cfg, moved, "weights"), null);
        } catch (RuntimeException e) {
            mgr.close();
            throw e;
        }
    }

    /**
     * A randomly initialised model (normal(0, {@code std}) matrices, unit norms, zero biases) drawn from a
     * Java RNG so the same seed gives the same weights on any engine and device.
     */
    public static LlamaModel random(LlamaConfig cfg, long seed, double std, Device device) {
        SplittableRandom rng = new SplittableRandom(seed);
        NDManager mgr = NDManager.newBaseManager(Devices.inUse(device));
        try {
            Map<String, NDArray> w = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : expectedShapes(cfg).entrySet()) {
                Shape s = e.getValue();
                float[] v = new float[Math.toIntExact(s.size())];
                String name = e.getKey();
                if (name.endsWith("norm.weight")) Arrays.fill(v, 1f);
                else if (!name.endsWith(".bias")) for (int i = 0; i < v.length; i++) v[i] = (float) (std * rng.nextGaussian());
                w.put(name, mgr.create(v, s));
            }
            return new LlamaModel(cfg, mgr, w, null);
        } catch (RuntimeException e) {
            mgr.close();
            throw e;
        }
    }

    /** The tensor names and shapes a config needs, in HF naming. */
    public static Map<String, Shape> expectedShapes(LlamaConfig c) {
        Map<String, Shape> s = new LinkedHashMap<>();
        long h = c.hiddenSize(), q = (long) c.numAttentionHeads() * c.headDim(), kv = (long) c.numKeyValueHeads() * c.headDim();
        s.put("model.embed_tokens.weight", new Shape(c.vocabSize(), h));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            s.put(p + "input_layernorm.weight", new Shape(h));
            s.put(p + "self_attn.q_proj.weight", new Shape(q, h));
            s.put(p + "self_attn.k_proj.weight", new Shape(kv, h));
            s.put(p + "self_attn.v_proj.weight", new Shape(kv, h));
            if (c.qkvBias()) {
                s.put(p + "self_attn.q_proj.bias", new Shape(q));
                s.put(p + "self_attn.k_proj.bias", new Shape(kv));
                s.put(p + "self_attn.v_proj.bias", new Shape(kv));
            }
            s.put(p + "self_attn.o_proj.weight", new Shape(h, q));
            if (c.oBias()) s.put(p + "self_attn.o_proj.bias", new Shape(h));
            s.put(p + "post_attention_layernorm.weight", new Shape(h));
            s.put(p + "mlp.gate_proj.weight", new Shape(c.intermediateSize(), h));
            s.put(p + "mlp.up_proj.weight", new Shape(c.intermediateSize(), h));
            s.put(p + "mlp.down_proj.weight", new Shape(h, c.intermediateSize()));
            if (c.mlpBias()) {
                s.put(p + "mlp.gate_proj.bias", new Shape(c.intermediateSize()));
                s.put(p + "mlp.up_proj.bias", new Shape(c.intermediateSize()));
                s.put(p + "mlp.down_proj.bias", new Shape(h));
            }
        }
        s.put("model.norm.weight", new Shape(h));
        if (!c.tieWordEmbeddings()) s.put("lm_head.weight", new Shape(c.vocabSize(), h));
        return s;
    }

    /** Every needed tensor present with the right shape, fp32; extra tensors are an error, not ignored. */
    private static Map<String, NDArray> checkWeights(LlamaConfig cfg, Map<String, NDArray> raw, String where) {
        Map<String, Shape> expected = expectedShapes(cfg);
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            NDArray a = raw.get(e.getKey());
            if (a == null) {
                throw new CtlabException(where + ": tensor '" + e.getKey() + "' required by the config ("
                        + cfg.architecture().hfName + ", " + cfg.numHiddenLayers() + " layers) is missing");
            }
            if (!a.getShape().equals(e.getValue())) {
                throw new CtlabException(where + ": tensor '" + e.getKey() + "' has shape " + a.getShape()
                        + " but the config needs " + e.getValue());
            }
            if (a.getDataType() != DataType.FLOAT32) {
                if (!a.getDataType().isFloating()) {
                    throw new CtlabException(where + ": tensor '" + e.getKey() + "' has dtype " + a.getDataType()
                            + ", expected a floating type");
                }
                NDArray f = a.toType(DataType.FLOAT32, true);
                a.close();
                a = f;
            }
            out.put(e.getKey(), a);
        }
        NDArray head = raw.get("lm_head.weight");
        if (cfg.tieWordEmbeddings() && head != null) {
            // Tied config, but the file has its own lm_head: transformers (5.25.0 checked, see
            // tools/goldens/make_variant_goldens.py) computes with the file's matrix, so we keep it unless it
            // is a plain copy of the embeddings.
            NDArray embed = out.get("model.embed_tokens.weight");
            if (!head.getShape().equals(embed.getShape())) {
                throw new CtlabException(where + ": tensor 'lm_head.weight' has shape " + head.getShape()
                        + " but the config needs " + embed.getShape());
            }
            if (!head.getDataType().isFloating()) {
                throw new CtlabException(where + ": tensor 'lm_head.weight' has dtype " + head.getDataType()
                        + ", expected a floating type");
            }
            NDArray h = head.getDataType() == DataType.FLOAT32 ? head : head.toType(DataType.FLOAT32, true);
            if (!h.contentEquals(embed)) out.put("lm_head.weight", h);
            else if (h != head) h.close();
        }
        for (Map.Entry<String, NDArray> e : raw.entrySet()) {
            String n = e.getKey();
            if (expected.containsKey(n) || out.get(n) == e.getValue()) continue;
            boolean harmless = n.endsWith("rotary_emb.inv_freq") || (cfg.tieWordEmbeddings() && n.equals("lm_head.weight"));
            if (!harmless) {
                throw new CtlabException(where + ": unexpected tensor '" + n + "' for " + cfg.architecture().hfName
                        + " (does config.json match the weights?)");
            }
            e.getValue().close();
        }
        return out;
    }

    /**
     * Saves the base weights as a Hugging Face model folder (config.json, model.safetensors, the tokenizer
     * files it was loaded with). LoRA adapters are saved separately with {@link Lora#save}.
     */
    public void save(Path dir, Map<String, String> provenance) {
        try {
            Files.createDirectories(dir);
            Map<String, String> meta = new TreeMap<>();
            if (provenance != null) meta.putAll(provenance);
            meta.put("format", "pt");
            Safetensors.write(dir.resolve(Safetensors.SINGLE_FILE), weights, meta);
            AtomicFiles.writeString(dir.resolve("config.json"),
                    ctlab.io.Jsonl.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(config.toJson()));
            if (sourceDir != null && !sourceDir.toAbsolutePath().equals(dir.toAbsolutePath())) {
                for (String f : List.of(Tokenizer.FILE, "tokenizer_config.json", "generation_config.json",
                        "special_tokens_map.json")) {
                    Path src = sourceDir.resolve(f);
                    if (Files.isRegularFile(src)) {
                        Path tmp = AtomicFiles.createTempFile(dir, "." + f, ".tmp");
                        Files.copy(src, tmp, StandardCopyOption.REPLACE_EXISTING);
                        AtomicFiles.move(tmp, dir.resolve(f));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("saving model to " + dir, e);
        }
    }

    // ------------------------------------------------------------------ accessors

    public LlamaConfig config() { return config; }

    public Device device() { return manager.getDevice(); }

    /** The manager owning the weights (and LoRA adapters); do not create per-step arrays in it. */
    public NDManager weightsManager() { return manager; }

    /** The base weight with this HF name (e.g. {@code model.layers.0.self_attn.q_proj.weight}). */
    public NDArray weight(String name) {
        NDArray a = weights.get(name);
        if (a == null) throw new IllegalArgumentException("no weight named '" + name + "'");
        return a;
    }

    /** All base weights by HF name (read-only view). */
    public Map<String, NDArray> weights() { return java.util.Collections.unmodifiableMap(weights); }

    /** The tokenizer loaded from the model folder, or null when it had no tokenizer.json. */
    public Tokenizer tokenizer() { return tokenizer; }

    public void setTokenizer(Tokenizer t) {
        if (t != null) t.checkFits(config.vocabSize(), String.valueOf(sourceDir));
        this.tokenizer = t;
    }

    /** The active LoRA adapters, or null. */
    public Lora lora() { return lora; }

    /**
     * Makes {@code l} the active adapter set (null: none). The previous set stays alive (it is closed with
     * {@link Lora#close()}), so two adapters, e.g. the positive and negative SFT models of the contrastive
     * estimator, can share one base and be switched. A merged previous set is unmerged first.
     */
    void setLora(Lora l) {
        if (lora != null && lora != l && lora.isMerged()) lora.unmerge();
        this.lora = l;
    }

    /** Training mode turns LoRA dropout on; log-prob scoring and generation must run with it off. */
    public void setTraining(boolean training) { this.training = training; }

    public boolean isTraining() { return training; }

    /**
     * The parameters a trainer updates: with LoRA attached, only the adapter matrices (the base is frozen);
     * otherwise every base weight (full fine-tuning). No weight decay for norms and biases.
     */
    public List<Param> trainableParameters() {
        if (lora != null) return lora.parameters();
        List<Param> out = new ArrayList<>();
        weights.forEach((n, a) -> out.add(new Param(n, a, !(n.endsWith("norm.weight") || n.endsWith(".bias")))));
        return out;
    }

    // ------------------------------------------------------------------ forward

    /**
     * Teacher-forced logits for a right-padded batch. Padding keys are masked; position ids count real
     * tokens (cumsum of the mask), so a left-padded batch works too.
     *
     * @param ids           (B, T) int64 token ids
     * @param attentionMask (B, T) 1 for real tokens, 0 for padding (any numeric type)
     * @return (B, T, V) fp32 logits, attached to {@code ids}' manager
     */
    public NDArray logits(NDArray ids, NDArray attentionMask) {
        checkInput(ids, attentionMask);
        try (NDScope scope = new NDScope()) {
            NDArray mask = attentionMask.toType(DataType.FLOAT32, false);  // (B, T)
            NDArray positions = positionsFromMask(mask);                    // (B, T)
            NDArray out = lmHead(hidden(ids, positions, mask, null));       // (B, T, V)
            NDScope.unregister(out);
            return out;
        }
    }

    /**
     * THE per-token log-prob function: {@code log_softmax(logits)[b, t, targets[b, t]]}.
     *
     * @param logits  (B, T, V) fp32
     * @param targets (B, T) int64
     * @return (B, T) fp32, attached to {@code logits}' manager
     */
    public static NDArray tokenLogProbs(NDArray logits, NDArray targets) {
        try (NDScope scope = new NDScope()) {
            NDArray logp = logits.logSoftmax(-1);                                // (B, T, V)
            NDArray idx = targets.toType(DataType.INT64, false).expandDims(-1); // (B, T, 1)
            NDArray out = logp.gather(idx, -1).squeeze(-1);                      // (B, T)
            NDScope.unregister(out);
            return out;
        }
    }

    /**
     * Teacher-forced log-probs of each next token: entry {@code t} is {@code log p(ids[t+1] | ids[..t])},
     * zero where {@code ids[t+1]} is padding.
     *
     * @param ids           (B, T) int64
     * @param attentionMask (B, T)
     * @return (B, T-1) fp32, attached to {@code ids}' manager
     */
    public NDArray sequenceLogProbs(NDArray ids, NDArray attentionMask) {
        try (NDScope scope = new NDScope()) {
            NDArray out = shiftedLogProbs(logits(ids, attentionMask), ids, attentionMask);  // (B, T-1)
            NDScope.unregister(out);
            return out;
        }
    }

    /** {@code logits[:, :-1]} scored against {@code ids[:, 1:]}, times {@code mask[:, 1:]}: (B, T-1). */
    public static NDArray shiftedLogProbs(NDArray logits, NDArray ids, NDArray attentionMask) {
        try (NDScope scope = new NDScope()) {
            NDArray pred = logits.get(":, :-1, :");                               // (B, T-1, V)
            NDArray tgt = ids.get(":, 1:");                                      // (B, T-1)
            NDArray m = attentionMask.get(":, 1:").toType(DataType.FLOAT32, false);  // (B, T-1)
            NDArray out = tokenLogProbs(pred, tgt).mul(m);                       // (B, T-1)
            NDScope.unregister(out);
            return out;
        }
    }

    private void checkInput(NDArray ids, NDArray mask) {
        if (ids.getShape().dimension() != 2) throw new IllegalArgumentException("ids must be (B, T), got " + ids.getShape());
        if (!ids.getShape().equals(mask.getShape())) {
            throw new IllegalArgumentException("attention mask " + mask.getShape() + " does not match ids " + ids.getShape());
        }
        if (!ids.getDevice().equals(device())) {
            throw new IllegalArgumentException("ids are on " + ids.getDevice() + " but the model is on " + device());
        }
    }

    /** Position ids = number of real tokens before each position (HF: cumsum(mask) - 1, clamped at 0). */
    private static NDArray positionsFromMask(NDArray mask) {
        NDArray c = mask.cumSum(1);            // (B, T)
        NDArray p = c.sub(1).maximum(0);       // (B, T)
        c.close();
        return p;
    }

    /**
     * Runs embedding and all decoder layers. {@code keyMask} covers the keys: (B, T) without a cache,
     * (B, S_old + T) with one. With a cache, new keys/values are appended to it.
     */
    private NDArray hidden(NDArray ids, NDArray positions, NDArray keyMask, KvCache cache) {
        long b = ids.getShape().get(0), t = ids.getShape().get(1);
        long s = keyMask.getShape().get(1);
        NDArray idx = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        NDArray x = idx.getNDArrayInternal().embedding(idx, weights.get("model.embed_tokens.weight"),
                SparseFormat.DENSE).singletonOrThrow();                          // (B, T, H)
        if (idx != ids) idx.close();
        NDArray cos, sin, bias;
        try (NDScope scope = new NDScope()) {
            NDArray[] cs = rotary(positions);                                    // 2 x (B, 1, T, D)
            cos = cs[0];
            sin = cs[1];
            bias = attentionBias(keyMask, b, t, s, config.slidingWindow());      // (B, 1, T, S)
            NDScope.unregister(cos, sin, bias);
        }
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            NDArray next;
            try (NDScope scope = new NDScope()) {
                next = layer(i, x, cos, sin, bias, cache);
                NDScope.unregister(next);
            }
            x.close();
            x = next;
        }
        NDArray out = rmsNorm(x, weights.get("model.norm.weight"));
        for (NDArray a : new NDArray[] {x, cos, sin, bias}) a.close();
        return out;
    }

    private NDArray lmHead(NDArray h) {
        // lm_head.weight is absent only for a tied config whose file had no distinct head (see checkWeights)
        NDArray w = weights.getOrDefault("lm_head.weight", weights.get("model.embed_tokens.weight"));
        return linear(h, w, null);                                               // (B, T, V)
    }

    /** One decoder layer: x + attn(norm(x)), then + mlp(norm(.)). */
    private NDArray layer(int i, NDArray x, NDArray cos, NDArray sin, NDArray bias, KvCache cache) {
        String p = "model.layers." + i + ".";
        NDArray a = attention(i, rmsNorm(x, weights.get(p + "input_layernorm.weight")), cos, sin, bias, cache);
        NDArray h = x.add(a);                                                    // (B, T, H)
        NDArray m = mlp(i, rmsNorm(h, weights.get(p + "post_attention_layernorm.weight")));
        return h.add(m);
    }

    private NDArray attention(int i, NDArray x, NDArray cos, NDArray sin, NDArray bias, KvCache cache) {
        String p = "model.layers." + i + ".self_attn.";
        long b = x.getShape().get(0), t = x.getShape().get(1);
        int nh = config.numAttentionHeads(), nkv = config.numKeyValueHeads(), d = config.headDim(), g = config.groupSize();
        NDArray q = proj(x, p + "q_proj").reshape(b, t, nh, d).transpose(0, 2, 1, 3);   // (B, NH, T, D)
        NDArray k = proj(x, p + "k_proj").reshape(b, t, nkv, d).transpose(0, 2, 1, 3);  // (B, KV, T, D)
        NDArray v = proj(x, p + "v_proj").reshape(b, t, nkv, d).transpose(0, 2, 1, 3);  // (B, KV, T, D)
        q = applyRotary(q, cos, sin);
        k = applyRotary(k, cos, sin);
        if (cache != null) {
            if (cache.keys[i] != null) {
                k = cache.keys[i].concat(k, 2);                                  // (B, KV, S, D)
                v = cache.values[i].concat(v, 2);                                // (B, KV, S, D)
            }
            cache.replaceKey(i, k);
            cache.replaceValue(i, v);
        }
        long s = k.getShape().get(2);
        // GQA without repeating K/V: query heads of one KV group are stacked along the time axis.
        NDArray qg = Scalars.mul(q, 1.0 / Math.sqrt(d)).reshape(b, nkv, g * t, d);  // (B, KV, G*T, D)
        NDArray scores = qg.matMul(k.transpose(0, 1, 3, 2))                     // (B, KV, G*T, S)
                .reshape(b, nh, t, s).add(bias);                                 // (B, NH, T, S)
        NDArray probs = scores.softmax(-1).reshape(b, nkv, g * t, s);            // (B, KV, G*T, S)
        NDArray ctx = probs.matMul(v)                                            // (B, KV, G*T, D)
                .reshape(b, nh, t, d).transpose(0, 2, 1, 3).reshape(b, t, (long) nh * d);  // (B, T, NH*D)
        return proj(ctx, p + "o_proj");                                          // (B, T, H)
    }

    private NDArray mlp(int i, NDArray x) {
        String p = "model.layers." + i + ".mlp.";
        NDArray gate = proj(x, p + "gate_proj");                                 // (B, T, I)
        NDArray act = activation(gate);                                          // (B, T, I)
        return proj(act.mul(proj(x, p + "up_proj")), p + "down_proj");          // (B, T, H)
    }

    /** The config's {@code hidden_act} (transformers' ACT2FN meaning), differentiable, on x's manager. */
    private NDArray activation(NDArray x) {
        return switch (config.hiddenAct()) {
            case "silu", "swish" -> x.mul(Activation.sigmoid(x));
            case "gelu" -> Activation.gelu(x);                                   // torch::gelu, exact (erf)
            case "gelu_pytorch_tanh", "gelu_new" -> geluTanh(x);
            case "relu" -> Activation.relu(x);
            default -> throw new IllegalStateException("unsupported hidden_act " + config.hiddenAct());  // LlamaConfig refuses it
        };
    }

    /**
     * GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as torch's
     * {@code gelu(approximate="tanh")} and transformers' NewGELUActivation. DJL exposes only the exact GELU;
     * the constants go through {@link Scalars} so the backward pass is safe.
     */
    private static NDArray geluTanh(NDArray x) {
        NDArray inner = Scalars.mul(x.add(Scalars.mul(x.mul(x).mul(x), 0.044715)), Math.sqrt(2 / Math.PI));
        return Scalars.mul(x, 0.5).mul(inner.tanh().add(1));
    }

    /** A named projection: base linear plus the LoRA delta when an adapter targets it. */
    private NDArray proj(NDArray x, String module) {
        NDArray y = linear(x, weights.get(module + ".weight"), weights.get(module + ".bias"));
        if (lora != null) y = lora.apply(module, x, y, training);
        return y;
    }

    /** x W^T + b through torch's linear; the result attaches to x's manager. */
    static NDArray linear(NDArray x, NDArray w, NDArray bias) {
        return x.getNDArrayInternal().linear(x, w, bias).singletonOrThrow();
    }

    private NDArray rmsNorm(NDArray x, NDArray w) {
        NDArray inv = Scalars.pow(x.square().mean(new int[] {-1}, true).add(config.rmsNormEps()), -0.5);  // (B, T, 1)
        return x.mul(inv).mul(w);
    }

    /** cos and sin tables for the given positions, HF layout: frequencies repeated twice along D. */
    private NDArray[] rotary(NDArray positions) {
        NDArray f = positions.getManager().create(invFreq);                      // (D/2)
        NDArray ang = positions.toType(DataType.FLOAT32, false).expandDims(-1).mul(f);  // (B, T, D/2)
        NDArray emb = ang.concat(ang, -1).expandDims(1);                         // (B, 1, T, D)
        return new NDArray[] {emb.cos(), emb.sin()};
    }

    /** q*cos + rotate_half(q)*sin, rotate_half(x) = cat(-x[..., D/2:], x[..., :D/2]). */
    private NDArray applyRotary(NDArray x, NDArray cos, NDArray sin) {
        long half = config.headDim() / 2;
        NDArray x1 = x.get(new NDIndex("..., :{}", half));
        NDArray x2 = x.get(new NDIndex("..., {}:", half));
        NDArray rot = x2.neg().concat(x1, -1);
        return x.mul(cos).add(rot.mul(sin));
    }

    /**
     * Additive bias (B, 1, T, S): 0 where key s is a real token at or before query t (and, with a sliding
     * window W, fewer than W slots back), else {@link #MASKED}. Slots and positions differ only by the
     * row's contiguous padding, so slot distances are position distances.
     */
    private static NDArray attentionBias(NDArray keyMask, long b, long t, long s, int window) {
        NDManager m = keyMask.getManager();
        NDArray qPos = m.arange(s - t, s, 1, DataType.FLOAT32).reshape(t, 1);    // (T, 1) absolute query slots
        NDArray kPos = m.arange(0, s, 1, DataType.FLOAT32).reshape(1, s);        // (1, S)
        NDArray causal = kPos.lte(qPos);                                         // (T, S)
        if (window > 0) causal = causal.logicalAnd(kPos.gt(qPos.sub(window)));   // HF: kv_idx > q_idx - window
        NDArray allowed = keyMask.reshape(b, 1, 1, s).mul(causal.toType(DataType.FLOAT32, false));  // (B, 1, T, S)
        return allowed.sub(1).mul(-MASKED);                                      // 0 or MASKED
    }

    private static float[] inverseFrequencies(LlamaConfig c) {
        int d = c.headDim();
        float[] inv = new float[d / 2];
        LlamaConfig.RopeScaling rs = c.ropeScaling();
        for (int i = 0; i < inv.length; i++) {
            // float32 like transformers: base ** (arange(0, d, 2) / d) computed in fp32
            float expo = (float) (2 * i) / d;
            double f = 1.0 / Math.pow(c.ropeTheta(), expo);
            if (rs != null) {
                // Llama-3.1 rescaling (transformers _compute_llama3_parameters)
                double lowWavelen = rs.originalMaxPositionEmbeddings() / rs.lowFreqFactor();
                double highWavelen = rs.originalMaxPositionEmbeddings() / rs.highFreqFactor();
                double wavelen = 2 * Math.PI / f;
                if (wavelen > lowWavelen) {
                    f = f / rs.factor();
                } else if (wavelen >= highWavelen) {
                    double smooth = (rs.originalMaxPositionEmbeddings() / wavelen - rs.lowFreqFactor())
                            / (rs.highFreqFactor() - rs.lowFreqFactor());
                    f = (1 - smooth) * f / rs.factor() + smooth * f;
                }
            }
            inv[i] = (float) f;
        }
        return inv;
    }

    // ------------------------------------------------------------------ incremental decoding

    /** An empty cache for one batched generation; fill it with {@link #prefill}. */
    public KvCache newCache() {
        return new KvCache(manager.newSubManager(), config.numHiddenLayers());
    }

    /**
     * Runs a LEFT-padded batch of prompts through the model, filling {@code cache}.
     *
     * @param ids           (B, T) int64, prompts right-aligned (padding on the left)
     * @param attentionMask (B, T), 0 on the left padding
     * @return (B, V) fp32 logits for the next token of each row, attached to {@code ids}' manager
     */
    public NDArray prefill(KvCache cache, NDArray ids, NDArray attentionMask) {
        checkInput(ids, attentionMask);
        if (cache.filled()) throw new IllegalStateException("cache already holds a prefilled batch");
        try (NDScope scope = new NDScope()) {
            // The cache keeps this mask past the call, so it must be torch's own copy. DJL's toType(FLOAT32, true)
            // is not one for a float32 input (torch's to() returns an alias), and callers' masks are usually
            // create(float[]) arrays over a Java buffer that the GC frees once their manager closes.
            NDArray mask = attentionMask.toType(DataType.FLOAT32, false).duplicate();  // (B, T)
            NDArray h = hidden(ids, positionsFromMask(mask), mask, cache);       // (B, T, H)
            long t = ids.getShape().get(1);
            NDArray logits = lmHead(h.get(":, {}:, :", t - 1)).squeeze(1);       // (B, V)
            cache.replacePositions(mask.sum(new int[] {1}).toType(DataType.INT64, false));  // (B)
            cache.replaceMask(mask);
            NDScope.unregister(logits);
            return logits;
        }
    }

    /**
     * Feeds one new token per row and returns the next-token logits.
     *
     * @param nextIds (B) or (B, 1) int64
     * @return (B, V) fp32, attached to {@code nextIds}' manager
     */
    public NDArray step(KvCache cache, NDArray nextIds) {
        return extend(cache, nextIds.reshape(cache.batchSize(), 1));
    }

    /**
     * Feeds {@code T'} new tokens per row (e.g. a forced prefix) in one pass and returns the logits after
     * the last of them. Every row gets all {@code T'} tokens (no padding inside the extension).
     *
     * @param ids (B, T') int64
     * @return (B, V) fp32, attached to {@code ids}' manager
     */
    public NDArray extend(KvCache cache, NDArray ids) {
        if (!cache.filled()) throw new IllegalStateException("prefill the cache before step/extend");
        long b = cache.batchSize();
        if (ids.getShape().dimension() != 2 || ids.getShape().get(0) != b) {
            throw new IllegalArgumentException("ids must be (" + b + ", T'), got " + ids.getShape());
        }
        long t = ids.getShape().get(1);
        try (NDScope scope = new NDScope()) {
            NDArray ones = ids.getManager().ones(new Shape(b, t));               // (B, T')
            NDArray mask = cache.keyMask.concat(ones, 1);                        // (B, S+T')
            NDArray offsets = ids.getManager().arange(0, t, 1, DataType.INT64).reshape(1, t);  // (1, T')
            NDArray positions = cache.nextPositions.reshape(b, 1).add(offsets);  // (B, T')
            NDArray h = hidden(ids, positions, mask, cache);                     // (B, T', H)
            NDArray last = t == 1 ? h : h.get(":, {}:, :", t - 1);               // (B, 1, H)
            NDArray logits = lmHead(last).squeeze(1);                            // (B, V)
            logits.attach(ids.getManager());
            cache.replaceMask(mask);
            cache.replacePositions(cache.nextPositions.add(t));
            NDScope.unregister(logits);
            return logits;
        }
    }

    @Override
    public void close() {
        if (tokenizer != null) tokenizer.close();
        manager.close();
    }
}

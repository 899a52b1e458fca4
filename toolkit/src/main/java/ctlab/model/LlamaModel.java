package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ctlab.CtlabException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A functional Llama-family decoder: the forward pass composes NDArray ops over {@link LlamaWeights}
 * (loading, validation and saving live there). RMSNorm, rotary embeddings in the HF convention (rotate-half
 * on the HF q/k layout), grouped-query attention, gated MLP with the config's {@code hidden_act} (SwiGLU for
 * silu), optional q/k/v bias and tied embeddings; optional LoRA adapters ({@link Lora}).
 *
 * <p>Shape letters used in the comments:
 * <pre>
 *   B   batch rows                      T   new tokens in this call (query positions)
 *   S   key/value slots attended to (cached + new; padding included)
 *   C   KV cache capacity (C ≥ S; slots past S are not read)
 *   H   hidden size                     I   MLP intermediate size
 *   NH  query heads                     KV  key/value heads
 *   G   query heads per KV head (NH / KV, grouped-query attention)
 *   D   head dim                        V   vocabulary size
 *   P   positions in the RoPE tables
 * </pre>
 *
 * <p>Memory rule: every op is written with the per-call activation as its first operand, so results attach
 * to the caller's NDManager (the manager of the {@code ids} passed in), never to the weights' manager.
 * Inference intermediates are freed layer by layer through {@link NDScope}.
 */
public final class LlamaModel implements AutoCloseable {
    /** Additive attention bias for masked keys; finite so a fully masked (padding) row cannot produce NaN. */
    static final float MASKED = -1e9f;

    private final LlamaConfig config;
    private final NDManager manager;
    private final LlamaWeights weights;
    private final float[] invFreq;
    private final Path sourceDir;
    // 0-d constants made by torch (Scalars: never a Java buffer autograd could outlive), built once per model
    private final NDArray epsScalar;
    private final NDArray minusHalf;
    private final NDArray attnScale;
    private NDArray[] tables;     // RoPE cos (P, D), sign-folded sin (P, D), causal mask (P, P): see tables()
    private Tokenizer tokenizer;
    private Lora lora;
    private boolean training;
    private TorchScriptKernels.Mode kernelMode = TorchScriptKernels.Mode.fromProperty();
    private TorchScriptKernels kernels;   // loaded on first use in TORCHSCRIPT mode
    private boolean activationCheckpointing;
    // forwards run with activation checkpointing whose backward is still to do (see backwardCheckpoints)
    private final List<Checkpointed> pendingCheckpoints = new ArrayList<>();

    private LlamaModel(LlamaConfig config, NDManager manager, LlamaWeights weights, Path sourceDir) {
        this.config = config;
        this.manager = manager;
        this.weights = weights;
        this.sourceDir = sourceDir;
        this.invFreq = inverseFrequencies(config);
        this.epsScalar = keep(manager.full(new Shape(), (float) config.rmsNormEps(), DataType.FLOAT32));
        this.minusHalf = keep(manager.full(new Shape(), -0.5f, DataType.FLOAT32));
        this.attnScale = keep(manager.full(new Shape(), (float) (1.0 / Math.sqrt(config.headDim())), DataType.FLOAT32));
        tables(1);
    }

    /** Moves a model-lifetime array (table, constant) into the weights' manager and out of any caller's NDScope. */
    private NDArray keep(NDArray a) {
        a.attach(manager);
        NDScope.unregister(a);
        return a;
    }

    // ------------------------------------------------------------------ loading and saving

    /**
     * Loads a Hugging Face model folder: {@code config.json}, {@code model.safetensors} (or sharded with
     * {@code model.safetensors.index.json}), and {@code tokenizer.json} when present.
     */
    public static LlamaModel load(Path modelDir, Device device) { return load(modelDir, device, Precision.Dtype.FLOAT32); }

    /**
     * As {@link #load(Path, Device)}, with the base weight matrices stored in {@code dtype} ({@code model_dtype}):
     * float16 halves their memory; compute stays fp32 (each matrix is cast where it is used). A dtype the engine
     * cannot hold ({@link Precision#check}) is refused before any weight is read.
     */
    public static LlamaModel load(Path modelDir, Device device, Precision.Dtype dtype) {
        Precision.check(dtype, device, modelDir.toString());
        TorchScriptKernels.Mode.fromProperty();   // a wrong -Dctlab.kernels fails before any weight is read
        if (!Files.isDirectory(modelDir)) {
            throw new CtlabException(modelDir + (Files.exists(modelDir) ? ": not a model folder (a file)" : ": model folder not found"));
        }
        LlamaConfig cfg = LlamaConfig.load(modelDir.resolve("config.json"));
        NDManager mgr = NDManager.newBaseManager(Devices.inUse(device));
        try {
            // matrices are cast to their storage dtype as they are read (a float16 base never exists whole in fp32)
            String where = modelDir.toString();
            Map<String, NDArray> raw = Safetensors.readModel(modelDir, mgr, dtype == Precision.Dtype.FLOAT16, (name, a) ->
                    a.getShape().dimension() == 2 && a.getDataType().isFloating() && a.getDataType() != dtype.djl
                            ? LlamaWeights.stored(where, name, a, dtype.djl) : a);
            LlamaModel m = new LlamaModel(cfg, mgr, LlamaWeights.checked(cfg, raw, mgr, where, dtype), modelDir);
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
            return new LlamaModel(cfg, mgr, LlamaWeights.checked(cfg, moved, mgr, "weights"), null);
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
        NDManager mgr = NDManager.newBaseManager(Devices.inUse(device));
        try {
            return new LlamaModel(cfg, mgr, LlamaWeights.random(cfg, seed, std, mgr), null);
        } catch (RuntimeException e) {
            mgr.close();
            throw e;
        }
    }

    /** The tensor names and shapes a config needs, in HF naming. */
    public static Map<String, Shape> expectedShapes(LlamaConfig c) { return LlamaWeights.expectedShapes(c); }

    /**
     * Saves the base weights as a Hugging Face model folder (config.json, model.safetensors, the tokenizer
     * files it was loaded with). LoRA adapters are saved separately with {@link Lora#save}.
     */
    public void save(Path dir, Map<String, String> provenance) { weights.save(config, dir, sourceDir, provenance); }

    // ------------------------------------------------------------------ accessors

    public LlamaConfig config() { return config; }

    public Device device() { return manager.getDevice(); }

    /** The manager owning the weights (and LoRA adapters); do not create per-step arrays in it. */
    public NDManager weightsManager() { return manager; }

    /**
     * The base weight with this HF name (e.g. {@code model.layers.0.self_attn.q_proj.weight}). q/k/v and
     * gate/up weights are views of fused matrices: change them in place, not with {@code set(Buffer)}.
     */
    public NDArray weight(String name) {
        NDArray a = weights.byName().get(name);
        if (a == null) throw new IllegalArgumentException("no weight named '" + name + "'");
        return a;
    }

    /** All base weights by HF name (read-only view). */
    public Map<String, NDArray> weights() { return weights.byName(); }

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
     * Chooses the SiLU·up and attention-core kernels: {@code PURE} DJL ops, or torch's fused ones through
     * TorchScript ({@link TorchScriptKernels}). The default comes from {@code -Dctlab.kernels}.
     */
    public synchronized void setKernels(TorchScriptKernels.Mode mode) {
        this.kernelMode = mode;
        if (mode == TorchScriptKernels.Mode.TORCHSCRIPT && kernels == null) kernels = new TorchScriptKernels(manager);
    }

    public TorchScriptKernels.Mode kernels() { return kernelMode; }

    /**
     * The TorchScript kernels when that mode is on, else null. Callers use them only for passes over T > 1 tokens
     * (forward, prefill, training): at one token per row a kernel call's fixed cost (IValue wrapping, ~2N+4 JNI calls,
     * the TorchScript interpreter) exceeds the few small ops it replaces, and torch's CPU flash kernel is slower than
     * two bmm at one query row (BENCHMARKS.md, "TorchScript kernels (silu, SDPA) through DJL").
     */
    private TorchScriptKernels fused() {
        if (kernelMode != TorchScriptKernels.Mode.TORCHSCRIPT) return null;
        if (kernels == null) setKernels(kernelMode);
        return kernels;
    }

    /**
     * Activation checkpointing per decoder layer ({@code train.activation_checkpointing}): a training forward
     * (training mode, grad mode on, no KV cache) keeps only each layer's input and recomputes the layer in
     * {@link #backwardCheckpoints}, which the trainer calls right after the loss's backward. Peak memory holds
     * one layer's activations instead of all of them, for about one extra forward of compute.
     */
    public void setActivationCheckpointing(boolean on) { this.activationCheckpointing = on; }

    public boolean activationCheckpointing() { return activationCheckpointing; }

    /**
     * The parameters a trainer updates: with LoRA attached, only the adapter matrices (the base is frozen);
     * otherwise every base weight (full fine-tuning). No weight decay for norms and biases.
     */
    public List<Param> trainableParameters() {
        if (lora != null) return lora.parameters();
        if (weights.embed.getDataType() != DataType.FLOAT32) {
            throw new CtlabException("full fine-tuning needs fp32 base weights, but the model was loaded with "
                    + "model_dtype " + weights.embed.getDataType() + " (train LoRA adapters, or use model_dtype float32)");
        }
        List<Param> out = new ArrayList<>();
        weights.byName().forEach((n, a) -> out.add(new Param(n, a, !(n.endsWith("norm.weight") || n.endsWith(".bias")))));
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
        try (NDScope scope = new NDScope()) {
            NDArray out = lmHead(hiddenStates(ids, attentionMask));         // (B, T, V)
            NDScope.unregister(out);
            return out;
        }
    }

    /**
     * The final (normed) hidden states, before the vocabulary projection: {@code logits = headLogits(hiddenStates)}.
     * With a 150k vocabulary the (B, T, V) logits are 0.6 GB per 1k tokens in fp32; callers that need them for many
     * positions project slices of this (B, T, H) array with {@link #headLogits} instead.
     *
     * @return (B, T, H) fp32, attached to {@code ids}' manager
     */
    public NDArray hiddenStates(NDArray ids, NDArray attentionMask) {
        checkInput(ids, attentionMask);
        long t = ids.getShape().get(1);
        try (NDScope scope = new NDScope()) {
            NDArray mask = attentionMask.toType(DataType.FLOAT32, false);  // (B, T)
            NDArray positions = positionsFromMask(mask);                    // (B, T)
            NDArray bias = attentionBias(mask, t, t);                       // (B, 1, T, T)
            NDArray out = hidden(ids, positions, t, bias, null);            // (B, T, H)
            NDScope.unregister(out);
            return out;
        }
    }

    /** The vocabulary projection of hidden states: (B, T', H) → (B, T', V) fp32 on {@code h}'s manager. */
    public NDArray headLogits(NDArray h) { return lmHead(h); }

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
     * Runs embedding and all decoder layers over T new tokens per row. {@code bias} is the additive
     * attention bias, (B, 1, T, S) or broadcastable to it, null when every key is visible; {@code s} is
     * the number of key slots after this call. With a cache, the new keys/values are written into it.
     */
    private NDArray hidden(NDArray ids, NDArray positions, long s, NDArray bias, KvCache cache) {
        NDArray idx = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        NDArray x = gather(idx, weights.embed);                                  // (B, T, H)
        if (idx != ids) idx.close();
        NDArray[] cs = rope(positions, s);                                       // 2 x (B, T, 1, D)
        List<LlamaWeights.Layer> layers = weights.layers();
        if (activationCheckpointing && training && cache == null && JniUtils.isGradMode()) return checkpointed(x, cs, bias);
        for (int i = 0; i < layers.size(); i++) {
            NDArray next;
            try (NDScope scope = new NDScope()) {
                next = layer(i, layers.get(i), x, cs[0], cs[1], bias, cache);
                NDScope.unregister(next);
            }
            x.close();
            x = next;
        }
        NDArray out = rmsNorm(x, weights.norm);
        for (NDArray a : new NDArray[] {x, cs[0], cs[1]}) a.close();
        return out;
    }

    /**
     * The decoder layers of a training forward under activation checkpointing (DJL 0.36 has neither
     * torch.utils.checkpoint nor custom autograd functions, so the backward is done by hand): the layers run
     * with grad mode off and only each layer's input is kept; the last layer's output becomes a leaf that
     * requires grad, so the loss's backward stops there and leaves dL/d(output) in its {@code .grad}.
     * {@link #backwardCheckpoints} then takes it down through the layers. Layer 0 runs from a detached copy of
     * the embedding output, whose gradient is handed to the embedding's own (kept) graph in full fine-tuning.
     * The kept arrays stay on the caller's manager (the trainer's step manager), taken out of the NDScope.
     */
    private NDArray checkpointed(NDArray embedded, NDArray[] cs, NDArray bias) {
        if (lora != null && lora.config().dropout() > 0) {
            // a recomputed layer would draw a new dropout mask, so its gradients would not be the forward's
            throw new CtlabException("activation checkpointing needs LoRA dropout 0, the adapter has "
                    + lora.config().dropout() + " (set the lora dropout to 0 or activation_checkpointing to false)");
        }
        pendingCheckpoints.removeIf(Checkpointed::released);   // left by a forward that never reached backward
        List<LlamaWeights.Layer> layers = weights.layers();
        NDArray[] inputs = new NDArray[layers.size()];
        NDArray x = embedded.stopGradient();                                     // (B, T, H)
        JniUtils.setGradMode(false);
        try {
            for (int i = 0; i < layers.size(); i++) {
                inputs[i] = x;
                try (NDScope scope = new NDScope()) {
                    x = layer(i, layers.get(i), x, cs[0], cs[1], bias, null);
                    NDScope.unregister(x);
                }
            }
        } finally {
            JniUtils.setGradMode(true);
        }
        x.setRequiresGradient(true);
        NDScope.unregister(embedded, inputs[0], cs[0], cs[1]);
        if (bias != null) NDScope.unregister(bias);
        pendingCheckpoints.add(new Checkpointed(embedded, inputs, x, cs[0], cs[1], bias));
        return rmsNorm(x, weights.norm);
    }

    /** A checkpointed forward: the embedding output (with its graph), each layer's input, the last layer's output. */
    private record Checkpointed(NDArray embedded, NDArray[] inputs, NDArray output, NDArray cos, NDArray sin, NDArray bias) {
        boolean released() { return output.isReleased(); }

        void close() {
            for (NDArray a : inputs) a.close();
            for (NDArray a : new NDArray[] {embedded, output, cos, sin, bias}) if (a != null) a.close();
        }
    }

    /**
     * Finishes the backward pass of every checkpointed forward since the last call; call it right after the loss's
     * backward (the trainer does, through {@link ctlab.train.TrainingTask#afterBackward}). Top layer first, each
     * layer is run again from its saved input with grad mode on and back-propagated with the gradient of its
     * output; parameter gradients (LoRA A/B, or every weight in full fine-tuning) accumulate as in one backward,
     * and the gradient of the layer's input is the next layer's upstream gradient. A no-op when nothing is pending.
     */
    public void backwardCheckpoints() {
        try {
            for (int c = pendingCheckpoints.size() - 1; c >= 0; c--) {
                Checkpointed cp = pendingCheckpoints.get(c);
                if (!cp.released()) backward(cp);
            }
        } finally {
            pendingCheckpoints.forEach(cp -> { if (!cp.released()) cp.close(); });
            pendingCheckpoints.clear();
        }
    }

    private void backward(Checkpointed cp) {
        PtNDArray grad = JniUtils.getGradient((PtNDArray) cp.output());         // dL/d(last layer output), or null
        if (grad == null) return;                                                // the loss did not use this forward
        boolean gradMode = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
        try {
            List<LlamaWeights.Layer> layers = weights.layers();
            for (int i = layers.size() - 1; i >= 0; i--) {
                NDArray in = cp.inputs()[i];
                in.setRequiresGradient(true);
                try (NDScope scope = new NDScope()) {
                    NDArray out = layer(i, layers.get(i), in, cp.cos(), cp.sin(), cp.bias(), null);
                    JniUtils.backward((PtNDArray) out, grad, false, false);
                }
                grad.close();
                grad = JniUtils.getGradient((PtNDArray) in);                     // dL/d(layer input)
                if (grad == null) return;                                        // nothing below needs it
            }
            // full fine-tuning: on into the embedding table. (Not JniUtils.requiresGrad(embedded): DJL's requiresGrad
            // is false for any non-leaf tensor, which is why an earlier attempt that guarded the layers' backward
            // with it never ran that backward and got all-zero gradients.)
            if (needsGrad(weights.embed)) {
                JniUtils.backward((PtNDArray) cp.embedded(), grad, false, false);
            }
            grad.close();
        } finally {
            JniUtils.setGradMode(gradMode);
        }
    }

    /**
     * {@code table[idx]} through torch's embedding; the result attaches to idx's manager and is fp32 (a
     * half-precision table's rows are widened after the lookup, so only the gathered rows are copied).
     */
    private static NDArray gather(NDArray idx, NDArray table) {
        NDArray rows = idx.getNDArrayInternal().embedding(idx, table, SparseFormat.DENSE).singletonOrThrow();
        if (rows.getDataType() == DataType.FLOAT32) return rows;
        NDArray f = rows.toType(DataType.FLOAT32, false);
        rows.close();
        return f;
    }

    private NDArray lmHead(NDArray h) {
        return linear(h, weights.lmHead, null);                                  // (B, T, V)
    }

    /** One decoder layer: x + attn(norm(x)), then + mlp(norm(.)). */
    private NDArray layer(int i, LlamaWeights.Layer w, NDArray x, NDArray cos, NDArray sin, NDArray bias, KvCache cache) {
        NDArray a = attention(i, w, rmsNorm(x, w.inputNorm()), cos, sin, bias, cache);
        NDArray h = x.add(a);                                                    // (B, T, H)
        NDArray m = mlp(w, rmsNorm(h, w.postNorm()));
        return h.add(m);
    }

    private NDArray attention(int i, LlamaWeights.Layer w, NDArray x, NDArray cos, NDArray sin, NDArray bias, KvCache cache) {
        long b = x.getShape().get(0), t = x.getShape().get(1);
        int nh = config.numAttentionHeads(), nkv = config.numKeyValueHeads(), d = config.headDim(), g = config.groupSize();
        long qw = (long) nh * d, kvw = (long) nkv * d;
        NDArray qk, v;                                                            // (B, T, NH*D + KV*D), (B, T, KV*D)
        boolean deltas = lora != null && (lora.targets(w.q()) || lora.targets(w.k()) || lora.targets(w.v()));
        if (!deltas && !needsGrad(w.wq())) {
            NDList parts = linear(x, w.wqkv(), w.bqkv()).split(new long[] {qw + kvw}, 2);  // one matmul for q|k|v
            qk = parts.get(0);
            v = parts.get(1);
        } else {
            NDArray q, k;
            if (needsGrad(w.wq())) {   // full fine-tuning: gradients must reach the named weights
                q = linear(x, w.wq(), w.bq());
                k = linear(x, w.wk(), w.bk());
                v = linear(x, w.wv(), w.bv());
            } else {
                NDList parts = linear(x, w.wqkv(), w.bqkv()).split(new long[] {qw, qw + kvw}, 2);
                q = parts.get(0);
                k = parts.get(1);
                v = parts.get(2);
            }
            if (lora != null) {
                q = lora.apply(w.q(), x, q, training);
                k = lora.apply(w.k(), x, k, training);
                v = lora.apply(w.v(), x, v, training);
            }
            qk = q.concat(k, -1);
        }
        // RoPE on q and k heads together, before the heads move in front of T
        NDList rq = applyRotary(qk.reshape(b, t, nh + nkv, d), cos, sin).split(new long[] {nh}, 2);
        NDArray q = rq.get(0), k = rq.get(1);                                    // (B, T, NH, D), (B, T, KV, D)
        NDArray vh = v.reshape(b, t, nkv, d);                                    // (B, T, KV, D)
        TorchScriptKernels fused = t > 1 ? fused() : null;                     // decode steps: see fused()
        NDArray qg, kAll, vAll;
        if (t == 1) {
            // one query position: (B, 1, NH, D) already has the memory order of (B, KV, G, D)
            qg = q.reshape(b, nkv, g, d).mul(attnScale);                         // (B, KV, G, D)
            k = k.reshape(b, nkv, 1, d);                                         // (B, KV, 1, D)
            vh = vh.reshape(b, nkv, 1, d);
        } else if (fused != null) {
            qg = q.transpose(0, 2, 1, 3).mul(attnScale);                         // (B, NH, T, D); SDPA repeats K/V
            k = k.transpose(0, 2, 1, 3);                                         // (B, KV, T, D)
            vh = vh.transpose(0, 2, 1, 3);                                       // (B, KV, T, D)
        } else {
            // GQA without repeating K/V: query heads of one KV group are stacked along the time axis.
            qg = q.transpose(0, 2, 1, 3).mul(attnScale).reshape(b, nkv, g * t, d);  // (B, KV, G*T, D)
            k = k.transpose(0, 2, 1, 3);                                         // (B, KV, T, D)
            vh = vh.transpose(0, 2, 1, 3);                                       // (B, KV, T, D)
        }
        if (cache != null) {
            cache.write(i, k, vh);
            kAll = cache.keys(i, t);                                             // (B, KV, S, D) views of the cache
            vAll = cache.values(i, t);
        } else {
            kAll = k;
            vAll = vh;
        }
        if (fused != null) {
            NDArray ctx = fused.attention(qg, kAll, vAll, bias);                 // (B, NH, T, D); bias (B, 1, T, S)
            return proj(ctx.transpose(0, 2, 1, 3).reshape(b, t, qw), w.wo(), w.bo(), w.o());  // (B, T, H)
        }
        long s = kAll.getShape().get(2);
        NDArray scores = qg.matMul(kAll.transpose(0, 1, 3, 2));                  // (B, KV, G*T, S)
        if (bias != null) {
            // t == 1: (B, KV, G, S) + (B, 1, 1, S) broadcasts as (B, NH, 1, S) + (B, 1, 1, S) would
            scores = t == 1 ? scores.add(bias) : scores.reshape(b, nh, t, s).add(bias);  // (B, NH, T, S)
        }
        NDArray probs = scores.softmax(-1).reshape(b, nkv, g * t, s);            // (B, KV, G*T, S)
        NDArray ctx = probs.matMul(vAll);                                        // (B, KV, G*T, D)
        ctx = t == 1 ? ctx.reshape(b, 1, qw)
                : ctx.reshape(b, nh, t, d).transpose(0, 2, 1, 3).reshape(b, t, qw);  // (B, T, NH*D)
        return proj(ctx, w.wo(), w.bo(), w.o());                                 // (B, T, H)
    }

    private NDArray mlp(LlamaWeights.Layer w, NDArray x) {
        NDArray gate, up;                                                        // (B, T, I)
        if (needsGrad(w.wGate())) {
            gate = linear(x, w.wGate(), w.bGate());
            up = linear(x, w.wUp(), w.bUp());
        } else {
            NDList parts = linear(x, w.wGateUp(), w.bGateUp()).split(2, 2);     // one matmul for gate|up
            gate = parts.get(0);
            up = parts.get(1);
        }
        if (lora != null) {
            gate = lora.apply(w.gate(), x, gate, training);
            up = lora.apply(w.up(), x, up, training);
        }
        TorchScriptKernels fused = x.getShape().get(1) > 1 ? fused() : null;  // decode steps: see fused()
        NDArray act = fused != null && isSilu() ? fused.siluMul(gate, up) : activation(gate).mul(up);
        return proj(act, w.wDown(), w.bDown(), w.down());                       // (B, T, H)
    }

    private boolean isSilu() {
        return config.hiddenAct().equals("silu") || config.hiddenAct().equals("swish");
    }

    /** Whether autograd must reach this base weight (full fine-tuning attached a gradient to it). */
    private static boolean needsGrad(NDArray weight) {
        return weight.hasGradient();
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

    /** A projection: base linear plus the LoRA delta when an adapter targets {@code module}. */
    private NDArray proj(NDArray x, NDArray weight, NDArray bias, String module) {
        NDArray y = linear(x, weight, bias);
        if (lora != null) y = lora.apply(module, x, y, training);
        return y;
    }

    /**
     * x W^T + b through torch's linear; the result attaches to x's manager. A weight stored in another dtype
     * than x (model_dtype float16 base, fp32 activations) is cast to x's dtype here, the fp32/half boundary:
     * one transient fp32 copy of one matrix, freed at once (autograd keeps its own reference when it needs it).
     */
    static NDArray linear(NDArray x, NDArray w, NDArray bias) {
        if (w.getDataType() == x.getDataType()) return x.getNDArrayInternal().linear(x, w, bias).singletonOrThrow();
        try (NDArray wc = w.toType(x.getDataType(), true)) {
            return x.getNDArrayInternal().linear(x, wc, bias).singletonOrThrow();
        }
    }

    private NDArray rmsNorm(NDArray x, NDArray w) {
        NDArray inv = x.square().mean(new int[] {-1}, true).add(epsScalar).pow(minusHalf);  // (B, T, 1)
        return x.mul(inv).mul(w);
    }

    /** cos and (sign-folded) sin for the given positions, gathered from the model's tables: 2 x (B, T, 1, D). */
    private NDArray[] rope(NDArray positions, long maxSlots) {
        NDArray[] tables = tables(maxSlots);
        NDArray idx = positions.getDataType() == DataType.INT64 ? positions : positions.toType(DataType.INT64, false);
        NDArray cos = gather(idx, tables[0]).expandDims(2);                      // (B, T, 1, D)
        NDArray sin = gather(idx, tables[1]).expandDims(2);                      // (B, T, 1, D)
        if (idx != positions) idx.close();
        return new NDArray[] {cos, sin};
    }

    /**
     * The per-model tables covering positions and slots [0, P), P ≥ {@code positions}: RoPE cos (P, D), sin
     * with the rotate-half sign folded in (P, D), and the causal (and sliding-window) 1/0 mask (P, P) whose
     * blocks are every (T, S) mask. Built in the weights' manager at construction and regrown by doubling.
     * Same fp32 ops as computing them per call (position·invFreq in fp32, then torch's cos/sin), so the
     * gathered rows equal per-call values bit for bit.
     */
    private synchronized NDArray[] tables(long positions) {
        if (tables == null || tables[0].getShape().get(0) < positions) {
            long p = Math.max(256, Long.highestOneBit(Math.max(1, positions - 1)) << 1);
            NDArray[] fresh = new NDArray[3];
            try (NDManager tmp = manager.newSubManager()) {
                NDArray f = tmp.create(invFreq);                                 // (D/2)
                NDArray pos = tmp.arange(0, p, 1, DataType.FLOAT32);             // (P)
                NDArray ang = pos.expandDims(-1).mul(f);                         // (P, D/2)
                fresh[0] = ang.concat(ang, -1).cos();                            // (P, D)
                NDArray sinHalf = ang.sin();                                     // (P, D/2)
                // rotate_half(x)·sin = cat(-x2, x1)·cat(s, s) = cat(x2, x1)·cat(-s, s), exactly (negation is exact)
                fresh[1] = sinHalf.neg().concat(sinHalf, -1);                    // (P, D)
                NDArray qPos = pos.reshape(p, 1), kPos = pos.reshape(1, p);
                NDArray allowed = kPos.lte(qPos);                                // (P, P)
                int window = config.slidingWindow();
                if (window > 0) allowed = allowed.logicalAnd(kPos.gt(qPos.sub(window)));  // HF: kv_idx > q_idx - window
                fresh[2] = allowed.toType(DataType.FLOAT32, false);              // (P, P)
                for (NDArray a : fresh) keep(a);
            }
            if (tables != null) for (NDArray a : tables) a.close();
            tables = fresh;
        }
        return tables;
    }

    /** x (B, T, heads, D): x*cos + rotate_half(x)*sin with the sign folded into the sin table: q*cos + cat(q2, q1)*sin. */
    private NDArray applyRotary(NDArray x, NDArray cos, NDArray sin) {
        NDList halves = x.split(2, 3);                                           // q1, q2: (B, T, heads, D/2)
        NDArray rot = halves.get(1).concat(halves.get(0), -1);
        return x.mul(cos).add(rot.mul(sin));
    }

    /**
     * Additive bias (B, 1, T, S) for T queries in the last T of S slots: 0 where key s is a real token at or
     * before query t (and, with a sliding window W, fewer than W slots back), else {@link #MASKED}. Slots and
     * positions differ only by the row's contiguous padding, so slot distances are position distances.
     *
     * @param keyMask (B, S) float 1 = real token
     */
    private NDArray attentionBias(NDArray keyMask, long t, long s) {
        long b = keyMask.getShape().get(0);
        NDArray causal = tables(s)[2];                                           // (P, P)
        NDArray rows = JniUtils.slice((PtNDArray) causal, 0, s - t, s, 1);      // (T, P) views, no copy
        NDArray block = JniUtils.slice((PtNDArray) rows, 1, 0, s, 1);           // (T, S)
        rows.close();
        NDArray allowed = keyMask.reshape(b, 1, 1, s).mul(block);               // (B, 1, T, S)
        block.close();
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
        return new KvCache(manager.newSubManager(), config);
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
        long t = ids.getShape().get(1);
        try (NDScope scope = new NDScope()) {
            NDArray h = prefillHidden(cache, ids, attentionMask);               // (B, T, H)
            NDArray last = t == 1 ? h : h.get(new ai.djl.ndarray.index.NDIndex().addAllDim().addSliceDim(t - 1, t));
            NDArray logits = lmHead(last).squeeze(1);                            // (B, V)
            h.close();                                                           // unregistered by prefillHidden
            NDScope.unregister(logits);
            return logits;
        }
    }

    /**
     * As {@link #prefill}, but returns the final hidden states of every position, nothing projected to the
     * vocabulary (callers project only the positions they need with {@link #headLogits}).
     *
     * @return (B, T, H) fp32, attached to {@code ids}' manager
     */
    public NDArray prefillHidden(KvCache cache, NDArray ids, NDArray attentionMask) {
        checkInput(ids, attentionMask);
        if (cache.filled()) throw new IllegalStateException("cache already holds a prefilled batch");
        long t = ids.getShape().get(1);
        try (NDScope scope = new NDScope()) {
            NDArray mask = attentionMask.toType(DataType.FLOAT32, false);      // (B, T); the cache copies it
            cache.start(mask);
            NDArray bias = attentionBias(cache.keyMask(t), t, t);               // (B, 1, T, T)
            NDArray h = hidden(ids, positionsFromMask(mask), t, bias, cache);    // (B, T, H)
            cache.advance(t, mask.sum(new int[] {1}).toType(DataType.INT64, false));  // (B) next positions
            NDScope.unregister(h);
            return h;
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
            NDArray h = extendHidden(cache, ids);                                // (B, T', H)
            NDArray last = t == 1 ? h : h.get(new ai.djl.ndarray.index.NDIndex().addAllDim().addSliceDim(t - 1, t));
            NDArray logits = lmHead(last).squeeze(1);                            // (B, V)
            logits.attach(ids.getManager());
            h.close();                                                           // unregistered by extendHidden
            NDScope.unregister(logits);
            return logits;
        }
    }

    /**
     * As {@link #extend}, but returns the final hidden states of all {@code T'} new positions, nothing projected.
     * A row may end in right padding (any ids): causal attention keeps it out of the real positions before it,
     * so their hidden states are exact; the padded positions' states are meaningless and the cache is not
     * meant to be extended further.
     *
     * @param ids (B, T') int64
     * @return (B, T', H) fp32, attached to {@code ids}' manager
     */
    public NDArray extendHidden(KvCache cache, NDArray ids) {
        if (!cache.filled()) throw new IllegalStateException("prefill the cache before step/extend");
        long b = cache.batchSize();
        if (ids.getShape().dimension() != 2 || ids.getShape().get(0) != b) {
            throw new IllegalArgumentException("ids must be (" + b + ", T'), got " + ids.getShape());
        }
        long t = ids.getShape().get(1);
        long s = cache.length() + t;
        try (NDScope scope = new NDScope()) {
            cache.reserve(s);
            NDArray positions = cache.nextPositions().reshape(b, 1);             // (B, 1)
            if (t > 1) positions = positions.add(ids.getManager().arange(0, t, 1, DataType.INT64).reshape(1, t));  // (B, T')
            NDArray bias;
            if (t == 1 && config.slidingWindow() <= 0) {
                bias = cache.paddingBias(s);                                     // (B, 1, 1, S) or null: no padding
            } else {
                bias = attentionBias(cache.keyMask(s), t, s);                    // (B, 1, T', S)
            }
            NDArray h = hidden(ids, positions, s, bias, cache);                  // (B, T', H)
            h.attach(ids.getManager());
            cache.advance(t, null);
            NDScope.unregister(h);
            return h;
        }
    }

    @Override
    public void close() {
        if (tokenizer != null) tokenizer.close();
        manager.close();
    }
}

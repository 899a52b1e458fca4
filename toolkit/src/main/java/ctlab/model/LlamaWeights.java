package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The weights of a Llama-family model: validated against the config, stored once, saved in Hugging Face
 * format. Two views of the same memory: {@link #byName()} (HF tensor names, for safetensors/PEFT I/O,
 * parameters and LoRA merges) and one typed {@link Layer} record per decoder layer (what the forward pass
 * reads). q|k|v and gate|up are stored fused, one (out_q + 2 out_kv, H) and one (2 I, H) matrix per layer,
 * so inference runs one matmul where the unfused model runs three (two); the named q/k/v/gate/up weights are
 * row-block views of those, so an in-place update of either (AdamW, {@link Lora#merge}) is seen by both.
 */
final class LlamaWeights {
    /**
     * One decoder layer. Fused matrices and their named row blocks share memory; biases are null when the
     * config has none. {@code q, k, v, o, gate, up, down} are the module paths LoRA adapters are keyed by.
     */
    record Layer(NDArray inputNorm, NDArray wqkv, NDArray bqkv, NDArray wq, NDArray wk, NDArray wv,
                 NDArray bq, NDArray bk, NDArray bv, NDArray wo, NDArray bo, NDArray postNorm,
                 NDArray wGateUp, NDArray bGateUp, NDArray wGate, NDArray wUp, NDArray bGate, NDArray bUp,
                 NDArray wDown, NDArray bDown,
                 String q, String k, String v, String o, String gate, String up, String down) {}

    private final Map<String, NDArray> byName;
    private final List<Layer> layers;
    final NDArray embed;     // (V, H)
    final NDArray norm;      // (H)
    final NDArray lmHead;    // (V, H): embed itself for a tied config without a distinct head

    /** Takes ownership of {@code named} (checked arrays on {@code mgr}) and fuses the projections. */
    private LlamaWeights(LlamaConfig c, Map<String, NDArray> named, NDManager mgr) {
        Map<String, NDArray> w = new LinkedHashMap<>(named);
        List<Layer> ls = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            String a = p + "self_attn.", m = p + "mlp.";
            NDArray wqkv = fuse(w, mgr, a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight");
            NDArray bqkv = c.qkvBias() ? fuse(w, mgr, a + "q_proj.bias", a + "k_proj.bias", a + "v_proj.bias") : null;
            NDArray wgu = fuse(w, mgr, m + "gate_proj.weight", m + "up_proj.weight");
            NDArray bgu = c.mlpBias() ? fuse(w, mgr, m + "gate_proj.bias", m + "up_proj.bias") : null;
            ls.add(new Layer(w.get(p + "input_layernorm.weight"), wqkv, bqkv,
                    w.get(a + "q_proj.weight"), w.get(a + "k_proj.weight"), w.get(a + "v_proj.weight"),
                    w.get(a + "q_proj.bias"), w.get(a + "k_proj.bias"), w.get(a + "v_proj.bias"),
                    w.get(a + "o_proj.weight"), w.get(a + "o_proj.bias"), w.get(p + "post_attention_layernorm.weight"),
                    wgu, bgu, w.get(m + "gate_proj.weight"), w.get(m + "up_proj.weight"),
                    w.get(m + "gate_proj.bias"), w.get(m + "up_proj.bias"),
                    w.get(m + "down_proj.weight"), w.get(m + "down_proj.bias"),
                    a + "q_proj", a + "k_proj", a + "v_proj", a + "o_proj", m + "gate_proj", m + "up_proj", m + "down_proj"));
        }
        this.byName = w;
        this.layers = List.copyOf(ls);
        this.embed = w.get("model.embed_tokens.weight");
        this.norm = w.get("model.norm.weight");
        // lm_head.weight is absent only for a tied config whose file had no distinct head (see check)
        this.lmHead = w.getOrDefault("lm_head.weight", embed);
    }

    /**
     * Concatenates the named tensors along dim 0 into one array on {@code mgr} and replaces each name's entry
     * by a view of its row block (torch slice: same storage), closing the separate originals.
     */
    private static NDArray fuse(Map<String, NDArray> w, NDManager mgr, String... names) {
        NDArray[] parts = new NDArray[names.length];
        for (int j = 0; j < names.length; j++) parts[j] = w.get(names[j]);
        NDArray fused = NDArrays.concat(new ai.djl.ndarray.NDList(parts), 0);
        fused.attach(mgr);
        NDScope.unregister(fused);
        long row = 0;
        for (int j = 0; j < names.length; j++) {
            long rows = parts[j].getShape().get(0);
            NDArray view = JniUtils.slice((PtNDArray) fused, 0, row, row + rows, 1);
            view.attach(mgr);
            NDScope.unregister(view);
            w.put(names[j], view);
            parts[j].close();
            row += rows;
        }
        return fused;
    }

    List<Layer> layers() { return layers; }

    Layer layer(int i) { return layers.get(i); }

    /** All weights by HF name, read-only; q/k/v and gate/up entries are views of the fused matrices. */
    Map<String, NDArray> byName() { return Collections.unmodifiableMap(byName); }

    // ------------------------------------------------------------------ construction

    /** Checked weights from a file's (or caller's) tensors already on {@code mgr}; {@code where} names them in errors. */
    static LlamaWeights checked(LlamaConfig cfg, Map<String, NDArray> raw, NDManager mgr, String where) {
        return checked(cfg, raw, mgr, where, Precision.Dtype.FLOAT32);
    }

    /**
     * As above, with the weight matrices (2-D: embeddings, projections, head) stored in {@code dtype}; norms
     * and biases stay fp32 (they are tiny). The forward pass casts a stored matrix to fp32 where it uses it.
     */
    static LlamaWeights checked(LlamaConfig cfg, Map<String, NDArray> raw, NDManager mgr, String where, Precision.Dtype dtype) {
        return new LlamaWeights(cfg, check(cfg, raw, where, dtype.djl), mgr);
    }

    /**
     * Normal(0, {@code std}) matrices, unit norms, zero biases from a Java RNG, so the same seed gives the
     * same weights on any engine and device.
     */
    static LlamaWeights random(LlamaConfig cfg, long seed, double std, NDManager mgr) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, NDArray> w = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : expectedShapes(cfg).entrySet()) {
            Shape s = e.getValue();
            float[] v = new float[Math.toIntExact(s.size())];
            String name = e.getKey();
            if (name.endsWith("norm.weight")) Arrays.fill(v, 1f);
            else if (!name.endsWith(".bias")) for (int i = 0; i < v.length; i++) v[i] = (float) (std * rng.nextGaussian());
            w.put(name, mgr.create(v, s));
        }
        return new LlamaWeights(cfg, w, mgr);
    }

    /** The tensor names and shapes a config needs, in HF naming. */
    static Map<String, Shape> expectedShapes(LlamaConfig c) {
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

    /**
     * Every needed tensor present with the right shape, fp32 (matrices: {@code matrixType}); extra tensors are
     * an error, not ignored.
     */
    private static Map<String, NDArray> check(LlamaConfig cfg, Map<String, NDArray> raw, String where, DataType matrixType) {
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
            DataType want = e.getValue().dimension() == 2 ? matrixType : DataType.FLOAT32;
            if (a.getDataType() != want) {
                if (!a.getDataType().isFloating()) {
                    throw new CtlabException(where + ": tensor '" + e.getKey() + "' has dtype " + a.getDataType()
                            + ", expected a floating type");
                }
                a = stored(where, e.getKey(), a, want);
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
            NDArray h = head.getDataType() == matrixType ? head : head.toType(matrixType, true);
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
     * {@code a} cast to the storage type {@code want} ({@code a} is closed); a float16 cast that overflows is an
     * error naming the tensor. {@link LlamaModel#load} also applies it to each matrix as it is read, so a float16
     * base never exists whole in fp32.
     */
    static NDArray stored(String where, String name, NDArray a, DataType want) {
        NDArray f;
        try {
            f = a.toType(want, true);
        } finally {
            a.close();
        }
        if (want == DataType.FLOAT16) {
            try (NDArray bad = f.isInfinite().any()) {
                if (bad.getBoolean()) {
                    f.close();
                    throw new CtlabException(where + ": tensor '" + name + "' has values outside the float16 range"
                            + " (|x| > 65504); use model_dtype float32");
                }
            }
        }
        return f;
    }

    // ------------------------------------------------------------------ saving

    /**
     * Writes a Hugging Face model folder: config.json, model.safetensors (HF names, unfused) and the
     * tokenizer files found in {@code sourceDir} (null: none).
     */
    void save(LlamaConfig config, Path dir, Path sourceDir, Map<String, String> provenance) {
        try {
            Files.createDirectories(dir);
            Map<String, String> meta = new TreeMap<>();
            if (provenance != null) meta.putAll(provenance);
            meta.put("format", "pt");
            Safetensors.write(dir.resolve(Safetensors.SINGLE_FILE), byName, meta);
            AtomicFiles.writeString(dir.resolve("config.json"),
                    Jsonl.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(config.toJson()));
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
}

package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * LoRA adapters (Hu et al. 2021, eq. 3: h = W0 x + (alpha/r) B A x) on any of the seven projections, with
 * the base frozen. Initialised like PEFT (A kaiming-uniform with a=sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in));
 * B zeros, so a fresh adapter leaves the model unchanged), saved and loaded in PEFT's format:
 * {@code adapter_config.json} + {@code adapter_model.safetensors} with names like
 * {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}.
 *
 * <p>Disabled adapters give the reference (base) model, which the preference losses need. Several adapter
 * sets may be loaded onto one base; one is active at a time ({@link #activate()}). The matrices live in the
 * model's weights manager until {@link #close()} (or the model's close).
 */
public final class Lora implements AutoCloseable {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    public static final List<String> ALL_MODULES =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    private static final String PEFT_PREFIX = "base_model.model.";

    /** Adapter hyper-parameters; {@code targetModules} are short names (q_proj ... down_proj). */
    public record Config(int rank, double alpha, double dropout, List<String> targetModules, boolean useRslora) {
        public Config {
            if (rank <= 0) throw new IllegalArgumentException("LoRA rank must be > 0, got " + rank);
            if (!(alpha > 0)) throw new IllegalArgumentException("LoRA alpha must be > 0, got " + alpha);
            if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
            if (targetModules == null || targetModules.isEmpty()) throw new IllegalArgumentException("no LoRA target modules");
            for (String m : targetModules) {
                if (!ALL_MODULES.contains(m)) {
                    throw new IllegalArgumentException("unknown LoRA target module '" + m + "' (known: " + ALL_MODULES + ")");
                }
            }
            targetModules = List.copyOf(new TreeSet<>(targetModules));
        }

        public Config(int rank, double alpha, double dropout, List<String> targetModules) {
            this(rank, alpha, dropout, targetModules, false);
        }

        /** PEFT's scaling: alpha / r, or alpha / sqrt(r) with rsLoRA. */
        public double scale() { return useRslora ? alpha / Math.sqrt(rank) : alpha / rank; }
    }

    private final LlamaModel model;
    private final Config config;
    private final Map<String, NDArray> a = new TreeMap<>();  // module path -> (r, in)
    private final Map<String, NDArray> b = new TreeMap<>();  // module path -> (out, r)
    private boolean enabled = true;
    private boolean merged;
    private boolean closed;

    private Lora(LlamaModel model, Config config) {
        this.model = model;
        this.config = config;
    }

    /** Full module paths (e.g. {@code model.layers.3.mlp.up_proj}) an adapter with these targets wraps. */
    static List<String> modulePaths(LlamaConfig c, List<String> targets) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            for (String t : targets) {
                String group = t.endsWith("_proj") && (t.startsWith("gate") || t.startsWith("up") || t.startsWith("down"))
                        ? "mlp." : "self_attn.";
                out.add("model.layers." + i + "." + group + t);
            }
        }
        return out;
    }

    /** Attaches fresh adapters (PEFT init, seeded) to {@code model} and makes them the active set. */
    public static Lora attach(LlamaModel model, Config config, long seed) {
        Lora l = new Lora(model, config);
        SplittableRandom rng = new SplittableRandom(seed);
        NDManager m = model.weightsManager();
        for (String path : new TreeSet<>(modulePaths(model.config(), config.targetModules()))) {
            Shape w = model.weight(path + ".weight").getShape();  // (out, in)
            long out = w.get(0), in = w.get(1);
            double bound = 1.0 / Math.sqrt(in);
            float[] av = new float[Math.toIntExact(config.rank() * in)];
            for (int i = 0; i < av.length; i++) av[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
            l.a.put(path, m.create(av, new Shape(config.rank(), in)));
            l.b.put(path, m.zeros(new Shape(out, config.rank())));
        }
        model.setLora(l);
        return l;
    }

    /**
     * Loads a PEFT adapter folder onto {@code model} and makes it the active set; every mismatch names the
     * file and the tensor (and leaves the previously active set active).
     */
    public static Lora load(LlamaModel model, Path adapterDir) {
        Path cfgFile = adapterDir.resolve(CONFIG_FILE);
        Config cfg = readConfig(cfgFile, model.config());
        Path wFile = adapterDir.resolve(WEIGHTS_FILE);
        Lora l = new Lora(model, cfg);
        Map<String, NDArray> raw = Safetensors.read(wFile, model.weightsManager());
        try {
            Set<String> used = new TreeSet<>();
            for (String path : modulePaths(model.config(), cfg.targetModules())) {
                Shape w = model.weight(path + ".weight").getShape();
                l.a.put(path, take(raw, used, wFile, PEFT_PREFIX + path + ".lora_A.weight", new Shape(cfg.rank(), w.get(1))));
                l.b.put(path, take(raw, used, wFile, PEFT_PREFIX + path + ".lora_B.weight", new Shape(w.get(0), cfg.rank())));
            }
            for (String n : raw.keySet()) {
                if (!used.contains(n)) {
                    throw new CtlabException(wFile + ": unexpected tensor '" + n + "' (not a LoRA matrix of the targets "
                            + cfg.targetModules() + " in " + cfgFile + ")");
                }
            }
        } catch (RuntimeException e) {
            raw.values().forEach(NDArray::close);
            throw e;
        }
        model.setLora(l);
        return l;
    }

    private static NDArray take(Map<String, NDArray> raw, Set<String> used, Path file, String name, Shape shape) {
        NDArray t = raw.get(name);
        if (t == null) throw new CtlabException(file + ": tensor '" + name + "' is missing");
        if (!t.getShape().equals(shape)) {
            throw new CtlabException(file + ": tensor '" + name + "' has shape " + t.getShape() + ", expected " + shape);
        }
        used.add(name);
        return t;
    }

    private static Config readConfig(Path file, LlamaConfig modelCfg) {
        JsonNode j;
        try {
            j = Jsonl.MAPPER.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new CtlabException(file + ": cannot read adapter config: " + e.getMessage(), e);
        }
        if (j == null || !j.isObject()) throw new CtlabException(file + ": not a JSON object");
        if (!"LORA".equals(j.path("peft_type").asText("LORA"))) {
            throw new CtlabException(file + ": field 'peft_type' is '" + j.path("peft_type").asText() + "', only LORA is supported");
        }
        for (String unsupported : new String[] {"use_dora", "lora_bias"}) {
            if (j.path(unsupported).asBoolean(false)) {
                throw new CtlabException(file + ": field '" + unsupported + "' = true is not supported");
            }
        }
        if (!"none".equals(j.path("bias").asText("none"))) throw new CtlabException(file + ": field 'bias' must be \"none\"");
        for (String pat : new String[] {"rank_pattern", "alpha_pattern"}) {
            if (j.has(pat) && j.get(pat).isObject() && !j.get(pat).isEmpty()) {
                throw new CtlabException(file + ": field '" + pat + "' (per-module ranks) is not supported");
            }
        }
        if (j.hasNonNull("layers_to_transform")) throw new CtlabException(file + ": field 'layers_to_transform' is not supported");
        if (j.path("fan_in_fan_out").asBoolean(false)) throw new CtlabException(file + ": field 'fan_in_fan_out' must be false");
        if (!j.path("r").isIntegralNumber()) throw new CtlabException(file + ": missing field 'r'");
        if (!j.path("lora_alpha").isNumber()) throw new CtlabException(file + ": missing field 'lora_alpha'");
        JsonNode tm = j.get("target_modules");
        List<String> targets = new ArrayList<>();
        if (tm != null && tm.isArray()) {
            for (JsonNode t : tm) {
                String s = t.asText();
                String shortName = s.contains(".") ? s.substring(s.lastIndexOf('.') + 1) : s;
                if (!ALL_MODULES.contains(shortName)) {
                    throw new CtlabException(file + ": field 'target_modules' names '" + s + "'; supported: " + ALL_MODULES);
                }
                targets.add(shortName);
            }
        } else if (tm != null && tm.isTextual()) {
            // PEFT: a string is a regex matched in full against module paths
            Pattern p = Pattern.compile(tm.asText());
            for (String mod : ALL_MODULES) {
                boolean all = modulePaths(modelCfg, List.of(mod)).stream().allMatch(x -> p.matcher(x).matches());
                boolean any = modulePaths(modelCfg, List.of(mod)).stream().anyMatch(x -> p.matcher(x).matches());
                if (any && !all) {
                    throw new CtlabException(file + ": field 'target_modules' regex selects " + mod
                            + " in only some layers; per-layer adapters are not supported");
                }
                if (all) targets.add(mod);
            }
        }
        if (targets.isEmpty()) throw new CtlabException(file + ": field 'target_modules' selects no supported module");
        try {
            return new Config(j.get("r").asInt(), j.get("lora_alpha").asDouble(), j.path("lora_dropout").asDouble(0),
                    targets, j.path("use_rslora").asBoolean(false));
        } catch (IllegalArgumentException e) {
            throw new CtlabException(file + ": " + e.getMessage());
        }
    }

    /** Writes {@code adapter_config.json} and {@code adapter_model.safetensors} in PEFT's format. */
    public void save(Path dir, Map<String, String> provenance) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (String path : a.keySet()) {
            tensors.put(PEFT_PREFIX + path + ".lora_A.weight", a.get(path));
            tensors.put(PEFT_PREFIX + path + ".lora_B.weight", b.get(path));
        }
        Map<String, String> meta = new TreeMap<>();
        if (provenance != null) meta.putAll(provenance);
        meta.put("format", "pt");
        Safetensors.write(dir.resolve(WEIGHTS_FILE), tensors, meta);
        ObjectNode c = Jsonl.MAPPER.createObjectNode();
        c.put("peft_type", "LORA");
        c.put("task_type", "CAUSAL_LM");
        c.putNull("base_model_name_or_path");
        c.put("r", config.rank());
        c.put("lora_alpha", config.alpha());
        c.put("lora_dropout", config.dropout());
        config.targetModules().forEach(c.putArray("target_modules")::add);
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("use_rslora", config.useRslora());
        c.put("use_dora", false);
        c.put("init_lora_weights", true);
        c.put("inference_mode", true);
        c.putNull("modules_to_save");
        c.putNull("layers_to_transform");
        c.putObject("rank_pattern");
        c.putObject("alpha_pattern");
        try {
            AtomicFiles.writeString(dir.resolve(CONFIG_FILE), Jsonl.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(c));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Config config() { return config; }

    /** Enabled adapters add their delta; disabled ones give the base (reference) model. */
    public void setEnabled(boolean on) {
        if (merged && !on) throw new IllegalStateException("unmerge the adapters before disabling them");
        enabled = on;
    }

    public boolean isEnabled() { return enabled; }

    public boolean isMerged() { return merged; }

    /** Folds the deltas into the base weights (W += scale * B A) for faster inference. */
    public void merge() {
        if (merged) return;
        if (!enabled) throw new IllegalStateException("enable the adapters before merging them");
        foldInto(1);
        merged = true;
    }

    /** Reverses {@link #merge} (W -= scale * B A). Rounding leaves differences of a few ulp. */
    public void unmerge() {
        if (!merged) return;
        foldInto(-1);
        merged = false;
    }

    private void foldInto(double sign) {
        for (String path : a.keySet()) {
            NDArray w = model.weight(path + ".weight");
            try (NDArray ba = b.get(path).matMul(a.get(path)); NDArray d = ba.mul(sign * config.scale())) {  // (out, in)
                w.addi(d);
            }
        }
    }

    /** Adapter matrices as trainable parameters (PEFT names); weight decay applies (they are not norms/biases). */
    public List<Param> parameters() {
        List<Param> out = new ArrayList<>();
        for (String path : a.keySet()) {
            out.add(new Param(PEFT_PREFIX + path + ".lora_A.weight", a.get(path), true));
            out.add(new Param(PEFT_PREFIX + path + ".lora_B.weight", b.get(path), true));
        }
        return out;
    }

    /** Whether {@link #apply} adds a delta to this module (full path, e.g. {@code model.layers.0.self_attn.q_proj}). */
    boolean targets(String module) { return enabled && !merged && a.containsKey(module); }

    /** y + scale * B A dropout(x) for a targeted module; y unchanged when disabled, merged or untargeted. */
    NDArray apply(String module, NDArray x, NDArray y, boolean training) {
        NDArray la = a.get(module);
        if (!enabled || merged || la == null) return y;
        NDArray xd = training && config.dropout() > 0
                ? x.getNDArrayInternal().dropout(x, (float) config.dropout(), true).singletonOrThrow() : x;
        NDArray down = LlamaModel.linear(xd, la, null);                          // (B, T, r)
        NDArray up = LlamaModel.linear(down, b.get(module), null);               // (B, T, out)
        return y.add(Scalars.mul(up, config.scale()));
    }

    /** Makes this the model's active adapter set (the previous one stays loaded, unmerged). */
    public void activate() {
        if (closed) throw new IllegalStateException("adapter is closed");
        model.setLora(this);
    }

    /** Whether this is the model's active adapter set. */
    public boolean isActive() { return model.lora() == this; }

    /** Detaches the adapters from the model (unmerging them first) and frees them. */
    public void remove() { close(); }

    /** Unmerges, deactivates if active, and frees the adapter matrices. */
    @Override
    public void close() {
        if (closed) return;
        unmerge();
        if (isActive()) model.setLora(null);
        closeArrays();
        closed = true;
    }

    void closeArrays() {
        a.values().forEach(NDArray::close);
        b.values().forEach(NDArray::close);
    }
}

package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.tasks.Tasks;
import ctlab.train.loss.LossConfig;
import ctlab.train.loss.LossType;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything a pipeline run needs, as one tree of validated records: run-level settings and one section per
 * stage. Defaults (the official cDPO hyper-parameters) live in {@code ctlab/run/defaults.yaml}; a user file
 * and {@code --set} overrides are merged over them by {@link ConfigLoader}, which also turns every failure
 * into an error naming the key path and the file. YAML keys are the snake_case of the component names.
 *
 * <p>Paths are kept as written; relative paths resolve against the working directory.
 */
public record RunConfig(
        String name,
        long seed,
        String device,
        int threads,
        String task,
        Data data,
        String model,
        String modelDtype,
        Sample sample,
        Select select,
        Sft sft,
        Ce ce,
        Rollout rollout,
        Train train,
        Eval eval,
        OpenAi openai) {

    /** The task names a run accepts: every task of the registry ({@link Tasks}). */
    public static final List<String> TASKS = Tasks.names();
    /** The seven projection names of Llama-family blocks, as PEFT's {@code target_modules} spells them. */
    public static final List<String> LORA_TARGETS =
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    /**
     * Storage of the frozen base weights ({@link ctlab.model.Precision}): float16 halves their memory, compute stays
     * fp32; bfloat16 is listed so that it gets the engine's own one-line refusal rather than an unknown-value error.
     */
    public static final List<String> MODEL_DTYPES = List.of("float32", "float16", "bfloat16");
    /** The loss names {@code train.losses} accepts: every {@link LossType}. */
    public static final List<String> LOSSES = LossType.names();

    public RunConfig {
        Check.required("name", name);
        if (name.isBlank() || !name.matches("[A-Za-z0-9._-]+")) {
            throw new ConfigKeyException("name", "must be letters, digits, '.', '_' or '-', got '" + name + "'");
        }
        Check.atLeast("seed", seed, 0);
        Check.required("device", device);
        if (!device.matches("cpu|gpu|gpu:\\d+|auto")) {
            throw new ConfigKeyException("device", "must be cpu, gpu, gpu:N or auto, got '" + device + "'");
        }
        Check.atLeast("threads", threads, 0);
        Check.oneOf("task", task, TASKS);
        Check.required("data", data);
        Check.required("model", model);
        Check.oneOf("model_dtype", modelDtype, MODEL_DTYPES);
        Check.required("sample", sample);
        Check.required("select", select);
        Check.required("sft", sft);
        Check.required("ce", ce);
        Check.required("rollout", rollout);
        Check.required("train", train);
        Check.required("eval", eval);
        Check.required("openai", openai);
        if (train.activationCheckpointing()) {
            // a recomputed layer would draw a new LoRA dropout mask: its gradients would not be the forward's
            for (var l : List.of(java.util.Map.entry("sft.lora.dropout", sft.lora().dropout()),
                    java.util.Map.entry("train.lora.dropout", train.lora().dropout()))) {
                if (l.getValue() > 0) {
                    throw new ConfigKeyException("train.activation_checkpointing", "needs LoRA dropout 0, but "
                            + l.getKey() + " is " + l.getValue() + " (set it to 0, or activation_checkpointing to false)");
                }
            }
        }
        for (var b : List.of(java.util.Map.entry("sample.backend", sample.backend()),
                java.util.Map.entry("rollout.backend", rollout.backend()), java.util.Map.entry("eval.backend", eval.backend()))) {
            if (b.getValue().equals(BACKEND_OPENAI) && openai.baseUrl() == null) {
                throw new ConfigKeyException("openai.base_url", "must be set when " + b.getKey() + " is openai");
            }
        }
    }

    /** A config without the {@code openai} section (its defaults: no server). */
    public RunConfig(String name, long seed, String device, int threads, String task, Data data, String model,
                     String modelDtype, Sample sample, Select select, Sft sft, Ce ce, Rollout rollout, Train train, Eval eval) {
        this(name, seed, device, threads, task, data, model, modelDtype, sample, select, sft, ce, rollout, train, eval,
                OpenAi.NONE);
    }

    /** Keys left out of the config tree at their default (so out of stage hashes); a stage may still declare them. */
    public static final java.util.Set<String> OMITTED_AT_DEFAULT = java.util.Set.of("train.activation_checkpointing");

    /** Generation backends of {@code sample/rollout/eval.backend}: the local {@link ctlab.sample.Sampler}, or an OpenAI-compatible server. */
    public static final String BACKEND_LOCAL = "local", BACKEND_OPENAI = "openai";
    public static final List<String> BACKENDS = List.of(BACKEND_LOCAL, BACKEND_OPENAI);

    /**
     * Leaves {@code backend: local} (the default) out of the config tree, so the stage config hashes of runs made
     * before the key existed stay valid; any other backend is in the tree and in the hash.
     */
    public static final class LocalBackendFilter {
        @Override public boolean equals(Object o) { return o == null || BACKEND_LOCAL.equals(o); }
        @Override public int hashCode() { return 0; }
    }

    /**
     * The server of the {@code openai} backend (docs/vllm.md). Not part of any stage's config hash: which server
     * answered is recorded in the stage's metrics ({@code server_model}, {@code server_version}).
     *
     * @param baseUrl     server root, e.g. {@code http://127.0.0.1:8000}; required when a backend is openai
     * @param model       served model name; null = the first the server lists
     * @param apiKeyEnv   environment variable holding the API key (never the key itself)
     * @param concurrency requests in flight
     * @param maxAttempts tries per request (connection errors, timeouts, 429, 5xx are retried)
     * @param backoffS    seconds before the first retry; doubles per retry (cap 30 s)
     * @param timeoutS    seconds per request
     * @param sendSeed    send a per-request seed
     */
    public record OpenAi(String baseUrl, String model, String apiKeyEnv, int concurrency, int maxAttempts,
                         double backoffS, double timeoutS, boolean sendSeed) {
        public static final OpenAi NONE = new OpenAi(null, null, "OPENAI_API_KEY", 8, 5, 1, 600, false);

        public OpenAi {
            if (baseUrl != null && !baseUrl.matches("https?://[^/\\s]+(/\\S*)?")) {
                throw new ConfigKeyException("base_url", "must be an http(s) URL, got '" + baseUrl + "'");
            }
            if (model != null && model.isBlank()) throw new ConfigKeyException("model", "must be null or a served model name");
            if (apiKeyEnv != null && !apiKeyEnv.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new ConfigKeyException("api_key_env", "must be an environment variable name, got '" + apiKeyEnv + "'");
            }
            Check.atLeast("concurrency", concurrency, 1);
            Check.atLeast("max_attempts", maxAttempts, 1);
            Check.nonNegative("backoff_s", backoffS);
            Check.positive("timeout_s", timeoutS);
        }

        /** The client settings. */
        public ctlab.sample.remote.OpenAiCompletions.Config client() {
            return new ctlab.sample.remote.OpenAiCompletions.Config(java.net.URI.create(baseUrl), model, apiKeyEnv,
                    concurrency, maxAttempts, java.time.Duration.ofMillis(Math.round(backoffS * 1000)),
                    java.time.Duration.ofMillis(Math.round(timeoutS * 1000)), sendSeed);
        }
    }

    /** Loads a YAML or JSON file with optional {@code key.path=value} overrides. */
    public static RunConfig load(Path file, List<String> overrides) { return ConfigLoader.load(file, overrides); }

    /** Parses YAML/JSON text (notebooks, tests); {@code sourceName} names it in error messages. */
    public static RunConfig parse(String yaml, String sourceName, List<String> overrides) {
        return ConfigLoader.parse(yaml, sourceName, overrides);
    }

    /** The config as a JSON tree with snake_case keys (what {@code config.yaml} holds). */
    public JsonNode tree() { return ConfigLoader.toTree(this); }

    /** The resolved config as YAML text. */
    public String toYaml() { return ConfigLoader.toYaml(this); }

    /** Thread count to use: {@code threads}, or all available processors when 0. */
    public int effectiveThreads() { return threads > 0 ? threads : Runtime.getRuntime().availableProcessors(); }

    /** Data files; null means the task's default location (see the task loaders). */
    public record Data(String train, String test) {}

    /**
     * Sampling (official: n=64 per prompt, top_p 0.95, max 1024 new tokens; the temperature was tuned per
     * model and data set, 0.1–1.1, to give about 10 incorrect answers per question).
     */
    public record Sample(int problems, int n, double temperature, double topP, int topK, int maxNewTokens,
                         List<String> stop, boolean fewShot, int batchSize,
                         @com.fasterxml.jackson.annotation.JsonInclude(value = com.fasterxml.jackson.annotation.JsonInclude.Include.CUSTOM,
                                 valueFilter = LocalBackendFilter.class) String backend) {
        public Sample(int problems, int n, double temperature, double topP, int topK, int maxNewTokens,
                      List<String> stop, boolean fewShot, int batchSize) {
            this(problems, n, temperature, topP, topK, maxNewTokens, stop, fewShot, batchSize, BACKEND_LOCAL);
        }

        public Sample {
            backend = Check.oneOf("backend", backend == null ? BACKEND_LOCAL : backend, BACKENDS);
            Check.atLeast("problems", problems, 0);
            Check.atLeast("n", n, 1);
            Check.nonNegative("temperature", temperature);
            Check.within("top_p", topP, 0, false, 1, true);
            Check.atLeast("top_k", topK, 0);
            Check.atLeast("max_new_tokens", maxNewTokens, 1);
            if (stop != null) {
                for (int i = 0; i < stop.size(); i++) {
                    String s = stop.get(i);
                    if (s == null || s.isEmpty()) throw new ConfigKeyException("stop[" + i + "]", "must be a non-empty string");
                }
                stop = List.copyOf(stop);
            }
            Check.atLeast("batch_size", batchSize, 1);
        }
    }

    /**
     * The official answer-frequency selection: SFT-positive = top-k correct answers (one sample each),
     * SFT-negative = most frequent incorrect answers until they cover top-p of the incorrect samples,
     * DPO pairs = (most frequent correct, most frequent incorrect).
     */
    public record Select(int posTopK, double negTopP, int pairsPerProblem, boolean skipUnextracted) {
        public Select {
            Check.atLeast("pos_top_k", posTopK, 1);
            Check.within("neg_top_p", negTopP, 0, false, 1, true);
            Check.atLeast("pairs_per_problem", pairsPerProblem, 1);
        }
    }

    /** A LoRA adapter (PEFT semantics: scale = alpha / r). */
    public record Lora(int r, double alpha, double dropout, List<String> targets) {
        public Lora {
            Check.atLeast("r", r, 1);
            Check.positive("alpha", alpha);
            Check.within("dropout", dropout, 0, true, 1, false);
            targets = Check.eachOneOf("targets", targets, LORA_TARGETS);
        }
    }

    /** Shared optimisation knobs; {@code effective_batch} must be a multiple of {@code batch_size}. */
    private static void checkOptimisation(double lr, int epochs, double weightDecay, int batchSize,
                                          int effectiveBatch, double maxGradNorm, String schedule) {
        Check.positive("lr", lr);
        Check.atLeast("epochs", epochs, 1);
        Check.nonNegative("weight_decay", weightDecay);
        Check.atLeast("batch_size", batchSize, 1);
        Check.atLeast("effective_batch", effectiveBatch, 1);
        if (effectiveBatch % batchSize != 0) {
            throw new ConfigKeyException("effective_batch", "must be a multiple of batch_size (" + batchSize
                    + "), got " + effectiveBatch);
        }
        Check.positive("max_grad_norm", maxGradNorm);
        Check.oneOf("schedule", schedule, List.of("linear", "cosine", "constant"));
    }

    /**
     * Positive/negative-model SFT (official: LoRA r=8 on gate/up/down, lr 3e-4, 100 warmup steps, 1 epoch, batch 6).
     * {@code max_examples} > 0 trains on the first that many examples of the file (a data-size ablation of the
     * detector); 0 = all (official).
     */
    public record Sft(Lora lora, double lr, int warmupSteps, int epochs, double weightDecay, int batchSize,
                      int effectiveBatch, double maxGradNorm, int maxLength, String schedule, int maxExamples) {
        public Sft {
            Check.required("lora", lora);
            Check.atLeast("max_examples", maxExamples, 0);
            Check.atLeast("warmup_steps", warmupSteps, 0);
            Check.atLeast("max_length", maxLength, 2);
            checkOptimisation(lr, epochs, weightDecay, batchSize, effectiveBatch, maxGradNorm, schedule);
        }

        public int gradAccumulation() { return effectiveBatch / batchSize; }
    }

    /**
     * Contrastive estimation s_t = softmax((1+β)z⁺ − βz⁻)[y_t] (official β = 1). {@code prompt_scores: false}: score-ce
     * projects and stores only the response positions ({@link ctlab.data.ScoredSide#ofResponse}) and writes no official
     * export (the official trainer aligns ce_prob with the prompt positions too); true (the default) keeps the
     * official layout and, left out of the config tree, the stage hashes of runs made before the key existed.
     */
    public record Ce(double beta, int batchSize,
                     @com.fasterxml.jackson.annotation.JsonInclude(value = com.fasterxml.jackson.annotation.JsonInclude.Include.CUSTOM,
                             valueFilter = TrueFilter.class) Boolean promptScores) {
        public Ce {
            Check.positive("beta", beta);
            Check.atLeast("batch_size", batchSize, 1);
            if (promptScores == null) promptScores = true;
        }

        public Ce(double beta, int batchSize) { this(beta, batchSize, true); }
    }

    /** Leaves a {@code true} (a default) out of the config tree, as {@link LocalBackendFilter} does for {@code local}. */
    public static final class TrueFilter {
        @Override public boolean equals(Object o) { return o == null || Boolean.TRUE.equals(o); }
        @Override public int hashCode() { return 0; }
    }

    /**
     * Rollout probing of incorrect trajectories: {@code k} continuations per position with and without the
     * token. {@code positions}: {@code all}, {@code first:N} or {@code stride:N}. {@code rule}: {@code paper}
     * (earliest position whose "with" rate drops to 0 after a positive rate) or {@code official} (first prefix
     * with 0 correct, reset when a later prefix has more than {@code official_reset_above} correct).
     */
    public record Rollout(int trajectories, int k, String positions, String rule, int officialResetAbove,
                          int maxNewTokens, int batchSize,
                          @com.fasterxml.jackson.annotation.JsonInclude(value = com.fasterxml.jackson.annotation.JsonInclude.Include.CUSTOM,
                                  valueFilter = LocalBackendFilter.class) String backend) {
        public Rollout {
            backend = Check.oneOf("backend", backend == null ? BACKEND_LOCAL : backend, BACKENDS);
            Check.atLeast("trajectories", trajectories, 0);
            Check.atLeast("k", k, 1);
            Check.required("positions", positions);
            if (!positions.matches("all|first:[1-9]\\d*|stride:[1-9]\\d*")) {
                throw new ConfigKeyException("positions", "must be all, first:N or stride:N, got '" + positions + "'");
            }
            Check.oneOf("rule", rule, List.of("paper", "official"));
            Check.atLeast("official_reset_above", officialResetAbove, 0);
            Check.atLeast("max_new_tokens", maxNewTokens, 1);
            Check.atLeast("batch_size", batchSize, 1);
        }
    }

    /**
     * Preference optimisation (official cDPO: LoRA r=16 alpha 32 on all seven projections, β 0.1, lr 4e-5,
     * 3 epochs, warmup 10%, weight decay 0.01, batch 2 × accumulation 4 = 8, only_neg weights).
     * The loss knobs ({@code beta}, {@code label_smoothing}, {@code rpo_alpha}, {@code tdpo_alpha}, {@code tdpo2},
     * {@code only_neg}) carry {@link LossConfig}'s keys and are validated by it, once per listed loss
     * ({@link #loss}); a knob no listed loss reads is not checked.
     * {@code activation_checkpointing} recomputes each decoder layer in the backward pass of every training stage
     * (train-pos, train-neg and train; {@link ctlab.model.LlamaModel#setActivationCheckpointing}): less memory, about
     * one more forward of time, the same gradients to float rounding. Left out of the config tree when false (the
     * default), so stage hashes of runs made before the key existed stay valid.
     */
    public record Train(List<String> losses, double beta, double lr, int epochs, double warmupRatio,
                        double weightDecay, int batchSize, int effectiveBatch, double maxGradNorm, String schedule,
                        Lora lora, int maxLength, int maxPromptLength, boolean onlyNeg, double labelSmoothing,
                        double rpoAlpha, boolean tdpo2, double tdpoAlpha,
                        @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_DEFAULT)
                        boolean activationCheckpointing) {
        public Train {
            losses = Check.eachOneOf("losses", losses, LOSSES);
            for (String name : losses) {
                try {
                    new LossConfig(LossType.fromName(name), beta, labelSmoothing, rpoAlpha, tdpoAlpha, tdpo2, onlyNeg);
                } catch (LossConfig.Invalid e) {
                    throw new ConfigKeyException(e.key(), e.problem());
                }
            }
            Check.within("warmup_ratio", warmupRatio, 0, true, 1, true);
            Check.required("lora", lora);
            Check.atLeast("max_length", maxLength, 2);
            Check.atLeast("max_prompt_length", maxPromptLength, 1);
            if (maxPromptLength >= maxLength) {
                throw new ConfigKeyException("max_prompt_length", "must be < max_length (" + maxLength + "), got "
                        + maxPromptLength);
            }
            checkOptimisation(lr, epochs, weightDecay, batchSize, effectiveBatch, maxGradNorm, schedule);
        }

        public int gradAccumulation() { return effectiveBatch / batchSize; }

        /** The settings of loss {@code type}: this section's knobs under their {@link LossConfig} names. */
        public LossConfig loss(LossType type) {
            return new LossConfig(type, beta, labelSmoothing, rpoAlpha, tdpoAlpha, tdpo2, onlyNeg);
        }
    }

    /**
     * Evaluation: greedy accuracy on {@code split}; pass@k from {@code pass_samples} samples when pass_k > 0;
     * {@code sft_models} also evaluates the positive and negative SFT adapters.
     */
    public record Eval(String split, int problems, int maxNewTokens, int passK, int passSamples,
                       double passTemperature, int batchSize, boolean sftModels,
                       @com.fasterxml.jackson.annotation.JsonInclude(value = com.fasterxml.jackson.annotation.JsonInclude.Include.CUSTOM,
                               valueFilter = LocalBackendFilter.class) String backend) {
        public Eval {
            backend = Check.oneOf("backend", backend == null ? BACKEND_LOCAL : backend, BACKENDS);
            Check.oneOf("split", split, List.of("test", "validation", "train"));
            Check.atLeast("problems", problems, 0);
            Check.atLeast("max_new_tokens", maxNewTokens, 1);
            Check.atLeast("pass_k", passK, 0);
            if (passK > 0 && passSamples < passK) {
                throw new ConfigKeyException("pass_samples", "must be >= pass_k (" + passK + "), got " + passSamples);
            }
            Check.nonNegative("pass_temperature", passTemperature);
            Check.atLeast("batch_size", batchSize, 1);
        }
    }
}

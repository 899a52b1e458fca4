package ctlab.train;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.util.stream.Collectors;

/**
 * Hyper-parameters of one training loop, validated on construction (a bad value is a CtlabException naming
 * the key). JSON/YAML keys are the snake_case names below; defaults follow HF {@code TrainingArguments}
 * (lr 5e-5, betas 0.9/0.999, eps 1e-8, max grad norm 1.0, linear schedule, no warmup, no decay, 3 epochs).
 *
 * @param lr               base learning rate (peak, after warmup)
 * @param warmupSteps      warmup steps; when 0, {@code ceil(totalSteps * warmupRatio)} is used
 * @param warmupRatio      fraction of total steps used for warmup when warmupSteps = 0
 * @param schedule         decay after warmup
 * @param weightDecay      decoupled AdamW decay for params with {@code weightDecay=true}
 * @param beta1            AdamW β1
 * @param beta2            AdamW β2
 * @param eps              AdamW ε (added after the square root, as torch does)
 * @param maxGradNorm      global-norm clipping threshold; 0 disables clipping (the norm is still logged)
 * @param gradAccum        micro-batches per optimizer step
 * @param epochs           passes over the task's micro-batches (ignored when maxSteps &gt; 0)
 * @param maxSteps         optimizer steps to run; 0 means {@code epochs} full passes
 * @param seed             seeds the data order and the engine RNG (re-seeded per step from (seed, step))
 * @param shuffle          shuffle the micro-batch order each epoch
 * @param checkpointEvery  save a checkpoint every N optimizer steps (0: only at the end / on interrupt)
 * @param keepCheckpoints  keep the newest K checkpoints
 * @param logEvery         write one metrics.jsonl record (averaged over the window) every N optimizer steps
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record TrainConfig(
        @JsonProperty("learning_rate") double lr,
        @JsonProperty("warmup_steps") int warmupSteps,
        @JsonProperty("warmup_ratio") double warmupRatio,
        @JsonProperty("schedule") Schedule.Kind schedule,
        @JsonProperty("weight_decay") double weightDecay,
        @JsonProperty("adam_beta1") double beta1,
        @JsonProperty("adam_beta2") double beta2,
        @JsonProperty("adam_epsilon") double eps,
        @JsonProperty("max_grad_norm") double maxGradNorm,
        @JsonProperty("gradient_accumulation_steps") int gradAccum,
        @JsonProperty("epochs") int epochs,
        @JsonProperty("max_steps") int maxSteps,
        @JsonProperty("seed") long seed,
        @JsonProperty("shuffle") boolean shuffle,
        @JsonProperty("checkpoint_every") int checkpointEvery,
        @JsonProperty("keep_checkpoints") int keepCheckpoints,
        @JsonProperty("log_every") int logEvery) {

    public TrainConfig {
        require(lr > 0 && Double.isFinite(lr), "learning_rate", "must be a finite number > 0", lr);
        require(warmupSteps >= 0, "warmup_steps", "must be >= 0", warmupSteps);
        require(warmupRatio >= 0 && warmupRatio <= 1, "warmup_ratio", "must be in [0, 1]", warmupRatio);
        require(schedule != null, "schedule", "is required (linear, cosine or constant)", null);
        require(weightDecay >= 0 && Double.isFinite(weightDecay), "weight_decay", "must be >= 0", weightDecay);
        require(beta1 >= 0 && beta1 < 1, "adam_beta1", "must be in [0, 1)", beta1);
        require(beta2 >= 0 && beta2 < 1, "adam_beta2", "must be in [0, 1)", beta2);
        require(eps > 0 && Double.isFinite(eps), "adam_epsilon", "must be > 0", eps);
        require(maxGradNorm >= 0 && Double.isFinite(maxGradNorm), "max_grad_norm", "must be >= 0 (0 disables clipping)", maxGradNorm);
        require(gradAccum >= 1, "gradient_accumulation_steps", "must be >= 1", gradAccum);
        require(epochs >= 1, "epochs", "must be >= 1", epochs);
        require(maxSteps >= 0, "max_steps", "must be >= 0 (0: run `epochs` passes)", maxSteps);
        require(checkpointEvery >= 0, "checkpoint_every", "must be >= 0 (0: only at the end)", checkpointEvery);
        require(keepCheckpoints >= 1, "keep_checkpoints", "must be >= 1", keepCheckpoints);
        require(logEvery >= 1, "log_every", "must be >= 1", logEvery);
    }

    private static void require(boolean ok, String key, String rule, Object got) {
        if (!ok) throw new CtlabException("training config '" + key + "' " + rule + (got == null ? "" : " (got " + got + ")"));
    }

    public static Builder builder() { return new Builder(); }

    /** A builder starting from this config. */
    public Builder toBuilder() {
        return new Builder().lr(lr).warmupSteps(warmupSteps).warmupRatio(warmupRatio).schedule(schedule)
                .weightDecay(weightDecay).betas(beta1, beta2).eps(eps).maxGradNorm(maxGradNorm)
                .gradAccum(gradAccum).epochs(epochs).maxSteps(maxSteps).seed(seed).shuffle(shuffle)
                .checkpointEvery(checkpointEvery).keepCheckpoints(keepCheckpoints).logEvery(logEvery);
    }

    /** The config as JSON (the same keys {@link #fromJson} reads). */
    public ObjectNode toJson() { return Jsonl.MAPPER.valueToTree(this); }

    /**
     * Reads a config from JSON/YAML; keys not given keep their defaults. {@code where} names the source
     * (e.g. {@code "run.yaml: train"}) in error messages.
     */
    public static TrainConfig fromJson(JsonNode node, String where) {
        if (node == null || !node.isObject()) throw new CtlabException(where + ": training config must be a mapping");
        ObjectNode merged = builder().build().toJson();
        merged.setAll((ObjectNode) node);
        try {
            return Jsonl.MAPPER.treeToValue(merged, TrainConfig.class);
        } catch (UnrecognizedPropertyException e) {
            throw new CtlabException(where + ": unknown training config key '" + e.getPropertyName() + "' (known: "
                    + e.getKnownPropertyIds().stream().map(Object::toString).sorted().collect(Collectors.joining(", ")) + ")");
        } catch (MismatchedInputException e) {
            String key = e.getPath().isEmpty() ? "?" : e.getPath().get(e.getPath().size() - 1).getFieldName();
            throw new CtlabException(where + ": training config '" + key + "' has a value of the wrong type ("
                    + e.getOriginalMessage().lines().findFirst().orElse("") + ")");
        } catch (ValueInstantiationException e) {
            Throwable c = e.getCause();
            if (c instanceof CtlabException ce) throw new CtlabException(where + ": " + ce.getMessage());
            throw new CtlabException(where + ": bad training config (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new CtlabException(where + ": bad training config (" + e.getMessage() + ")");
        }
    }

    /** Mutable builder with HF TrainingArguments defaults. */
    public static final class Builder {
        private double lr = 5e-5;
        private int warmupSteps = 0;
        private double warmupRatio = 0;
        private Schedule.Kind schedule = Schedule.Kind.LINEAR;
        private double weightDecay = 0;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double maxGradNorm = 1.0;
        private int gradAccum = 1;
        private int epochs = 3;
        private int maxSteps = 0;
        private long seed = 42;
        private boolean shuffle = true;
        private int checkpointEvery = 0;
        private int keepCheckpoints = 2;
        private int logEvery = 1;

        public Builder lr(double v) { lr = v; return this; }
        public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        public Builder warmupRatio(double v) { warmupRatio = v; return this; }
        public Builder schedule(Schedule.Kind v) { schedule = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder betas(double b1, double b2) { beta1 = b1; beta2 = b2; return this; }
        public Builder eps(double v) { eps = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder gradAccum(int v) { gradAccum = v; return this; }
        public Builder epochs(int v) { epochs = v; return this; }
        public Builder maxSteps(int v) { maxSteps = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder shuffle(boolean v) { shuffle = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder keepCheckpoints(int v) { keepCheckpoints = v; return this; }
        public Builder logEvery(int v) { logEvery = v; return this; }

        public TrainConfig build() {
            return new TrainConfig(lr, warmupSteps, warmupRatio, schedule, weightDecay, beta1, beta2, eps,
                    maxGradNorm, gradAccum, epochs, maxSteps, seed, shuffle, checkpointEvery, keepCheckpoints,
                    logEvery);
        }
    }
}

package ctlab.task.organism;

import ctlab.CtlabException;
import ctlab.model.LlamaConfig;

import java.util.List;

/**
 * Everything that decides an organism base model: the data (difficulty, seed, split sizes), the tiny
 * Llama shape, the training loop and the evaluation. Stored as {@code pretrain_config.json} next to the
 * model, so a model folder says how to reproduce it.
 *
 * @param hidden        hidden size
 * @param layers        decoder layers
 * @param heads         attention heads (head_dim = hidden / heads)
 * @param kvHeads       key/value heads (GQA)
 * @param intermediate  SwiGLU inner size
 * @param difficulty    generator knobs
 * @param dataSeed      generator seed
 * @param trainProblems distinct training problems (one epoch = trainProblems / batchSize steps)
 * @param testProblems  test split size (greedy accuracy is measured on all of them)
 * @param steps         optimizer steps
 * @param batchSize     problems per step
 * @param lr            peak learning rate (linear warmup, cosine decay)
 * @param warmupSteps   warmup steps
 * @param weightDecay   AdamW decoupled weight decay
 * @param seed          weight init, data order and sampling seed
 * @param sampleProblems test problems used for the temperature check (the first ones)
 * @param samples       samples per problem for the temperature check
 * @param temperature   sampling temperature for the check
 * @param traps         organism v2's planted misconceptions, or null (v1 organism; absent in older files)
 */
public record PretrainConfig(int hidden, int layers, int heads, int kvHeads, int intermediate,
                             Difficulty difficulty, long dataSeed, int trainProblems, int testProblems,
                             int steps, int batchSize, double lr, int warmupSteps, double weightDecay, long seed,
                             int sampleProblems, int samples, double temperature, Traps traps) {
    public PretrainConfig {
        require(hidden > 0 && heads > 0 && hidden % heads == 0 && (hidden / heads) % 2 == 0, "hidden/heads",
                "hidden must be a multiple of heads with an even head size");
        require(kvHeads > 0 && heads % kvHeads == 0, "kv_heads", "must divide heads");
        require(layers > 0 && intermediate > 0, "layers/intermediate", "must be > 0");
        require(trainProblems >= batchSize && batchSize > 0, "train_problems", "must be >= batch_size > 0");
        require(testProblems > 0, "test_problems", "must be > 0");
        require(steps > 0 && warmupSteps >= 0 && warmupSteps < steps, "steps", "must be > warmup_steps >= 0");
        require(lr > 0 && Double.isFinite(lr), "lr", "must be > 0");
        require(weightDecay >= 0, "weight_decay", "must be >= 0");
        require(sampleProblems >= 0 && sampleProblems <= testProblems, "sample_problems", "must be in [0, test_problems]");
        require(samples > 0 && temperature >= 0, "samples/temperature", "must be > 0 and >= 0");
        if (difficulty == null) throw new CtlabException("pretrain config: difficulty is required");
    }

    /** A v1 (no traps) recipe. */
    public PretrainConfig(int hidden, int layers, int heads, int kvHeads, int intermediate, Difficulty difficulty,
                          long dataSeed, int trainProblems, int testProblems, int steps, int batchSize, double lr,
                          int warmupSteps, double weightDecay, long seed, int sampleProblems, int samples,
                          double temperature) {
        this(hidden, layers, heads, kvHeads, intermediate, difficulty, dataSeed, trainProblems, testProblems, steps,
                batchSize, lr, warmupSteps, weightDecay, seed, sampleProblems, samples, temperature, null);
    }

    /** This recipe with other traps (null = v1). */
    public PretrainConfig withTraps(Traps t) {
        return new PretrainConfig(hidden, layers, heads, kvHeads, intermediate, difficulty, dataSeed, trainProblems,
                testProblems, steps, batchSize, lr, warmupSteps, weightDecay, seed, sampleProblems, samples,
                temperature, t);
    }

    /** The generator this recipe's data comes from. */
    public ProblemGenerator generator() { return new ProblemGenerator(difficulty, dataSeed, traps); }

    private static void require(boolean ok, String key, String rule) {
        if (!ok) throw new CtlabException("pretrain config '" + key + "' " + rule);
    }

    /** The committed base model's recipe (models/organism-base). */
    public static PretrainConfig standard() {
        return new PretrainConfig(128, 4, 4, 2, 352, Difficulty.standard(), 1, 40_000, 500,
                1000, 32, 3e-3, 50, 0.1, 1, 200, 8, 1.0);
    }

    /**
     * The organism-traps base model's recipe (models/organism-traps): {@link Traps#standard()} on easier clean
     * arithmetic (2–3 steps, start <= 10, operands <= 5, values <= 25, no distractors) and 1500 steps, so that
     * clean problems are nearly always right and the errors that remain are the planted ones (tuning history in
     * models/organism-traps/README.md).
     */
    public static PretrainConfig trapsRecipe() {
        return new PretrainConfig(128, 4, 4, 2, 352, new Difficulty(2, 3, 10, 5, 25, 0.0), 1, 40_000, 500,
                1500, 32, 3e-3, 50, 0.1, 1, 200, 8, 1.0, Traps.standard());
    }

    /** A CI-sized run: tiny model, a few dozen steps, seconds on two cores. */
    public static PretrainConfig ci() {
        return new PretrainConfig(32, 1, 2, 1, 64, Difficulty.easy(), 1, 512, 16,
                30, 16, 3e-3, 3, 0.0, 1, 4, 4, 1.0);
    }

    /** The engine's config for this shape; vocabulary and special ids come from the organism tokenizer. */
    public LlamaConfig llamaConfig(int vocabSize, int bosId, int eosId) {
        return new LlamaConfig(LlamaConfig.Architecture.LLAMA, hidden, intermediate, layers, heads, kvHeads,
                hidden / heads, 1e-5, 10_000.0, null, vocabSize, 512, true, false, false,
                List.of(bosId), List.of(eosId), "float32", 0);   // 0: no sliding window
    }
}

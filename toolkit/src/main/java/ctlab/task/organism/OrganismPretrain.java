package ctlab.task.organism;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.model.LlamaConfig;
import ctlab.model.LlamaModel;
import ctlab.model.Param;
import ctlab.model.Tokenizer;
import ctlab.stats.Accuracy;
import ctlab.task.Problem;
import ctlab.train.Schedule;
import ctlab.train.TrainConfig;
import ctlab.train.TrainResult;
import ctlab.train.Trainer;
import ctlab.train.TrainingTask;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The organism's base-model recipe: generate the splits, write the tokenizer, initialise a tiny Llama, train
 * it with the shared {@link Trainer} on "BOS + prompt + solution + EOS" documents (loss on the solution
 * tokens and EOS only: the questions' random numbers are unpredictable and would only add noise; batches of
 * near-equal length), save it as
 * a Hugging Face folder and measure greedy accuracy and the temperature check on the test split.
 *
 * <p>Layout of {@code out}: {@code data/} (splits + organism.json), {@code model/} (config.json,
 * model.safetensors, tokenizer files, generation_config.json, pretrain_config.json), {@code train/}
 * (metrics.jsonl, checkpoints/), {@code eval.json}.
 */
public final class OrganismPretrain {
    /** Longest generation the checks allow (the longest standard solution is ~130 tokens). */
    public static final int MAX_NEW_TOKENS = 256;
    static final double INIT_STD = 0.02;

    private OrganismPretrain() {}

    /**
     * @param firstLoss    training loss of the first logged window
     * @param lastLoss     training loss of the last logged window
     * @param trainSeconds wall time of the training loop
     * @param greedy       test-split greedy accuracy (null when not evaluated)
     * @param sampling     temperature check on the first {@code sampleProblems} test problems (null when not run)
     */
    public record Result(Path modelDir, TrainResult training, double firstLoss, double lastLoss, double trainSeconds,
                         Accuracy greedy, OrganismEval.SampleCheck sampling) {}

    /**
     * A trained model, still open, with what produced it. Close it when done (closes model and tokenizer).
     */
    public record Trained(LlamaModel model, Tokenizer tokenizer, Map<Split, List<OrganismProblem>> splits,
                          TrainResult training, double firstLoss, double lastLoss, double trainSeconds, Path modelDir)
            implements AutoCloseable {
        @Override public void close() { model.close(); }   // the model owns (and closes) its tokenizer
    }

    /** Runs the whole recipe; {@code evaluate=false} stops after saving the model. */
    public static Result run(PretrainConfig c, Path out, boolean evaluate, Consumer<String> log) {
        try (Trained t = train(c, out, log)) {
            if (!evaluate) return new Result(t.modelDir(), t.training(), t.firstLoss(), t.lastLoss(), t.trainSeconds(), null, null);
            List<Problem> test = t.splits().get(Split.TEST).stream().map(OrganismTask::toProblem).toList();
            var greedyRuns = OrganismEval.run(t.model(), t.tokenizer(), OrganismTask.INSTANCE, test, 1, 0.0, c.seed(),
                    64, MAX_NEW_TOKENS);
            Accuracy acc = OrganismEval.greedyAccuracy(greedyRuns);
            log.accept("greedy accuracy on " + test.size() + " test problems: " + acc);
            var sampled = OrganismEval.run(t.model(), t.tokenizer(), OrganismTask.INSTANCE,
                    test.subList(0, c.sampleProblems()), c.samples(), c.temperature(), c.seed(), 64, MAX_NEW_TOKENS);
            OrganismEval.SampleCheck check = OrganismEval.SampleCheck.of(sampled);
            log.accept("temperature " + c.temperature() + ": " + check);
            TrapEval.Report traps = TrapEval.of(t.tokenizer(), test, greedyRuns, sampled);
            if (traps != null) log.accept("traps: " + traps);
            ObjectNode eval = Jsonl.MAPPER.createObjectNode();
            eval.set("greedy", Jsonl.MAPPER.valueToTree(acc));
            eval.set("sampling", Jsonl.MAPPER.valueToTree(check));
            if (traps != null) eval.set("traps", Jsonl.MAPPER.valueToTree(traps));
            eval.put("train_seconds", t.trainSeconds());
            eval.put("first_loss", t.firstLoss());
            eval.put("last_loss", t.lastLoss());
            writeJson(out.resolve("eval.json"), eval);
            return new Result(t.modelDir(), t.training(), t.firstLoss(), t.lastLoss(), t.trainSeconds(), acc, check);
        }
    }

    /** Generates the data, trains and saves the model; returns it open (for checks without reloading). */
    public static Trained train(PretrainConfig c, Path out, Consumer<String> log) {
        Path dataDir = out.resolve("data"), modelDir = out.resolve("model"), trainDir = out.resolve("train");
        var generator = c.generator();
        Map<Split, Integer> counts = new EnumMap<>(Split.class);
        counts.put(Split.TRAIN, c.trainProblems());
        counts.put(Split.VALIDATION, Math.min(500, c.testProblems()));
        counts.put(Split.TEST, c.testProblems());
        Map<Split, List<OrganismProblem>> splits = OrganismData.write(dataDir, generator, counts);
        log.accept("data: " + counts + " problems in " + dataDir);
        OrganismTokenizer.write(modelDir, c.traps() != null);

        Tokenizer tokenizer = Tokenizer.load(modelDir);
        LlamaModel model = null;
        try {
            LlamaConfig lc = c.llamaConfig(tokenizer.vocabSize(), tokenizer.bosId(), tokenizer.eosId());
            model = LlamaModel.random(lc, c.seed(), INIT_STD, Device.cpu());
            model.setTokenizer(tokenizer);
            long params = model.trainableParameters().stream().mapToLong(p -> p.array().size()).sum();
            log.accept("model: " + params + " parameters (" + c.layers() + " layers, hidden " + c.hidden() + ")");
            PretrainTask task = PretrainTask.of(model, tokenizer, splits.get(Split.TRAIN), c.batchSize());
            double[] losses = {Double.NaN, Double.NaN};
            Trainer trainer = new Trainer(trainConfig(c)).onMetrics(r -> {
                double loss = ((Number) r.get("loss")).doubleValue();
                if (Double.isNaN(losses[0])) losses[0] = loss;
                losses[1] = loss;
            });
            long t0 = System.nanoTime();
            TrainResult tr = trainer.fit(task, trainDir);
            double seconds = (System.nanoTime() - t0) / 1e9;
            log.accept(String.format("trained %d steps in %.1f s, loss %.4f -> %.4f", tr.step(), seconds,
                    losses[0], losses[1]));
            model.save(modelDir, provenance(c));
            writeJson(modelDir.resolve("generation_config.json"), generationConfig(lc));
            writeJson(modelDir.resolve("pretrain_config.json"), Jsonl.MAPPER.valueToTree(c));
            return new Trained(model, tokenizer, splits, tr, losses[0], losses[1], seconds, modelDir);
        } catch (RuntimeException e) {
            boolean owned = model != null && model.tokenizer() == tokenizer;
            if (model != null) model.close();
            if (!owned) tokenizer.close();
            throw e;
        }
    }

    static TrainConfig trainConfig(PretrainConfig c) {
        return TrainConfig.builder().lr(c.lr()).warmupSteps(c.warmupSteps()).schedule(Schedule.Kind.COSINE)
                .weightDecay(c.weightDecay()).betas(0.9, 0.95).eps(1e-8).maxGradNorm(1.0).gradAccum(1)
                .maxSteps(c.steps()).seed(c.seed()).shuffle(true).checkpointEvery(0).keepCheckpoints(1)
                .logEvery(Math.max(1, Math.min(10, c.steps() / 10))).build();
    }

    private static Map<String, String> provenance(PretrainConfig c) {
        Map<String, String> p = new TreeMap<>();
        p.put("ctlab.recipe", "ctlab.task.organism.OrganismPretrain");
        p.put("ctlab.pretrain_config", Jsonl.toLine(c));
        p.put("ctlab.seed", Long.toString(c.seed()));
        return p;
    }

    private static ObjectNode generationConfig(LlamaConfig lc) {
        ObjectNode g = Jsonl.MAPPER.createObjectNode();
        g.put("bos_token_id", lc.bosTokenId());
        g.put("eos_token_id", lc.eosTokenIds().get(0));
        g.put("pad_token_id", OrganismTokenizer.vocabulary().get(OrganismTokenizer.PAD));
        g.put("do_sample", false);
        g.put("max_new_tokens", MAX_NEW_TOKENS);
        return g;
    }

    private static void writeJson(Path file, ObjectNode json) {
        try {
            AtomicFiles.writeString(file, Jsonl.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One micro-batch: right-padded documents and which next-token positions count in the loss. */
    record Batch(int rows, int length, long[] ids, float[] mask, float[] lossMask, int lossTokens) {}

    /** Next-token cross-entropy on solution tokens, averaged over those tokens. */
    static final class PretrainTask implements TrainingTask<Batch> {
        private final LlamaModel model;
        private final List<Batch> batches;

        private PretrainTask(LlamaModel model, List<Batch> batches) {
            this.model = model;
            this.batches = batches;
        }

        /** Tokenizes each problem as BOS + prompt, then solution + EOS (the loss part), and packs batches. */
        static PretrainTask of(LlamaModel model, Tokenizer tokenizer, List<OrganismProblem> problems, int batchSize) {
            List<int[][]> docs = new ArrayList<>(problems.size());
            for (OrganismProblem p : problems) {
                int[] prompt = OrganismEval.promptIds(tokenizer, OrganismTask.INSTANCE, p.question());
                long[] sol = tokenizer.encode(p.pretrainSolution());   // v2: the corpus' (maybe biased) solution
                int[] target = new int[sol.length + 1];
                for (int i = 0; i < sol.length; i++) target[i] = Math.toIntExact(sol[i]);
                target[sol.length] = tokenizer.eosId();
                docs.add(new int[][] {prompt, target});
            }
            // Length bucketing: documents sorted by length (stable, so deterministic) are packed into batches of
            // near-equal length, which removes most padding (~1/3 of the tokens at the standard difficulty).
            // The trainer shuffles the batch order every epoch, so lengths still arrive mixed over steps.
            docs.sort(java.util.Comparator.comparingInt(d -> d[0].length + d[1].length));
            List<Batch> batches = new ArrayList<>();
            for (int from = 0; from + batchSize <= docs.size(); from += batchSize)
                batches.add(pack(docs.subList(from, from + batchSize)));
            return new PretrainTask(model, batches);
        }

        static Batch pack(List<int[][]> docs) {
            int b = docs.size();
            int t = docs.stream().mapToInt(d -> d[0].length + d[1].length).max().orElseThrow();
            long[] ids = new long[b * t];
            float[] mask = new float[b * t];
            float[] lossMask = new float[b * (t - 1)];       // entry j scores the token at position j + 1
            int count = 0;
            for (int r = 0; r < b; r++) {
                int[] prompt = docs.get(r)[0], target = docs.get(r)[1];
                for (int j = 0; j < prompt.length; j++) { ids[r * t + j] = prompt[j]; mask[r * t + j] = 1; }
                for (int j = 0; j < target.length; j++) {
                    int pos = prompt.length + j;
                    ids[r * t + pos] = target[j];
                    mask[r * t + pos] = 1;
                    lossMask[r * (t - 1) + pos - 1] = 1;
                    count++;
                }
            }
            return new Batch(b, t, ids, mask, lossMask, count);
        }

        @Override public List<Param> params() { return model.trainableParameters(); }

        @Override public int numMicroBatches() { return batches.size(); }

        @Override public Batch microBatch(int index) { return batches.get(index); }

        @Override public NDArray loss(NDManager sm, Batch batch, Map<String, Double> metrics) {
            int b = batch.rows(), t = batch.length();
            NDArray ids = sm.create(batch.ids(), new Shape(b, t));                      // (B, T) int64
            NDArray mask = sm.create(batch.mask(), new Shape(b, t));                    // (B, T)
            NDArray lossMask = sm.create(batch.lossMask(), new Shape(b, t - 1));        // (B, T-1)
            NDArray logits = model.logits(ids, mask);                                   // (B, T, V)
            NDArray logp = LlamaModel.shiftedLogProbs(logits, ids, mask);               // (B, T-1)
            return ctlab.model.Scalars.div(logp.mul(lossMask).sum(), -batch.lossTokens());                   // scalar: mean NLL
        }

        @Override public void afterBackward() { model.backwardCheckpoints(); }

        @Override public long tokens(Batch batch) {
            long n = 0;
            for (float m : batch.mask()) n += (long) m;
            return n;
        }
    }
}

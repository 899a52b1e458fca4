package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ctlab.CtlabException;
import ctlab.data.PromptResponse;
import ctlab.data.ScoredPair;
import ctlab.data.ScoredSide;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Param;
import ctlab.model.Tokenizer;
import ctlab.train.loss.LossInput;
import ctlab.train.loss.LossResult;
import ctlab.train.loss.PreferenceBatch;
import ctlab.train.loss.PreferenceLoss;
import ctlab.train.loss.SequenceKl;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Preference optimisation of a LoRA policy through one {@link PreferenceLoss} (the built-in ones are
 * {@link ctlab.train.loss.LossType}'s; any other implementation trains the same way) and the shared {@link Trainer}. The reference is the same base model with the adapters disabled:
 * its log-probs come from a {@link ReferenceLogps} cache computed once (checked by key). The loss declares the
 * other inputs it reads ({@link PreferenceLoss#inputs()}) and only those are computed: CE weights, and for a loss
 * reading the per-token KL (tokendpo) the reference's logits per step with the adapters switched off (the KL needs
 * the whole distribution). The loop itself has no code of its own per loss.
 *
 * <p>Each micro-batch is one forward of 2B rows, chosen rows then rejected rows, packed by {@link ResponseBatch}
 * (TRL's concatenated forward). The rows are the pairs' carried ids ({@link ScoredPair}) with one EOS appended; the
 * per-token CE weights are the scores of those very ids, joined by position (the record guarantees one score per
 * response id), plus the official score of the appended EOS, and cut like the response when it is truncated.
 */
public final class PreferenceTraining {
    private PreferenceTraining() {}

    /**
     * A tokenized pair. Scores are response-aligned (EOS included) or null when the data has none.
     */
    public record EncodedPair(String problemId, PromptResponse chosen, PromptResponse rejected,
                              double[] chosenScores, double[] rejectedScores) {
        public EncodedPair {
            if (chosenScores != null && chosenScores.length != chosen.response().length)
                throw new IllegalArgumentException("chosen scores do not match the chosen response tokens");
            if (rejectedScores != null && rejectedScores.length != rejected.response().length)
                throw new IllegalArgumentException("rejected scores do not match the rejected response tokens");
        }
    }

    /**
     * @param loss            the loss (built from a validated {@code LossConfig} by {@link PreferenceLoss#create})
     * @param lora            policy adapter (official cDPO: r 16, alpha 32, all seven projections)
     * @param train           optimisation
     * @param batchSize       pairs per micro-batch
     * @param maxLength       longest prompt + response
     * @param maxPromptLength prompt tokens kept (from the end) when a pair is too long
     * @param loraSeed        adapter initialisation seed (the same for every loss of an ablation)
     */
    public record Config(PreferenceLoss loss, Lora.Config lora, TrainConfig train, int batchSize, int maxLength,
                         int maxPromptLength, long loraSeed) {
        public Config {
            Objects.requireNonNull(loss, "loss");
            Objects.requireNonNull(lora, "lora");
            Objects.requireNonNull(train, "train");
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            if (maxPromptLength < 1 || maxPromptLength >= maxLength)
                throw new IllegalArgumentException("need 1 <= max prompt length < max length");
        }
    }

    /**
     * The scored pairs' carried ids as training rows ({@code prompt_ids | response_ids + EOS}) with their CE scores
     * joined by position: {@code chosenScores[t]} is the score of response token t, the appended EOS gets the
     * official score ({@link ScoredSide#OFFICIAL_CHOSEN_EOS_SCORE} / {@link ScoredSide#OFFICIAL_REJECTED_EOS_SCORE}).
     * Nothing is re-tokenized; {@code tokenizer} gives the EOS and BOS ids only.
     */
    public static List<EncodedPair> encode(Tokenizer tokenizer, List<ScoredPair> pairs, int maxPromptLength,
                                           int maxLength, String source) {
        List<EncodedPair> out = new ArrayList<>(pairs.size());
        int eos = tokenizer.eosId();
        if (eos < 0) throw new CtlabException(source + ": the tokenizer has no EOS token to append");
        for (ScoredPair p : pairs) {
            PromptResponse c = p.pair().chosenSequence().withEos(eos);
            PromptResponse r = p.pair().rejectedSequence().withEos(eos);
            double[] sc = withEosScore(p.chosenScores(), ScoredSide.OFFICIAL_CHOSEN_EOS_SCORE);
            double[] sr = withEosScore(p.rejectedScores(), ScoredSide.OFFICIAL_REJECTED_EOS_SCORE);
            out.add(truncate(new EncodedPair(p.problemId(), c, r, sc, sr), maxPromptLength, maxLength, tokenizer.bosId() >= 0));
        }
        return out;
    }

    private static double[] withEosScore(double[] scores, double eosScore) {
        double[] out = Arrays.copyOf(scores, scores.length + 1);
        out[scores.length] = eosScore;
        return out;
    }

    /** TRL's rule: when the longer response does not fit, keep the prompt's last tokens, then cut the responses. */
    static EncodedPair truncate(EncodedPair p, int maxPromptLength, int maxLength, boolean keepBos) {
        int longest = Math.max(p.chosen().response().length, p.rejected().response().length);
        if (p.chosen().prompt().length + longest <= maxLength) return p;
        PromptResponse c = p.chosen().truncate(maxPromptLength, maxLength, keepBos);
        PromptResponse r = p.rejected().truncate(maxPromptLength, maxLength, keepBos);
        // both sides share the prompt: cut it the same way even when one response alone would have fit
        int promptLen = Math.min(c.prompt().length, r.prompt().length);
        c = sharedPrompt(c, p.chosen(), promptLen, keepBos, maxLength);
        r = sharedPrompt(r, p.rejected(), promptLen, keepBos, maxLength);
        return new EncodedPair(p.problemId(), c, r, cut(p.chosenScores(), c.response().length),
                cut(p.rejectedScores(), r.response().length));
    }

    private static PromptResponse sharedPrompt(PromptResponse cut, PromptResponse full, int promptLen, boolean keepBos,
                                               int maxLength) {
        if (cut.prompt().length == promptLen) return cut;
        int[] fp = full.prompt();
        int[] tail = Arrays.copyOfRange(fp, fp.length - promptLen + (keepBos ? 1 : 0), fp.length);
        int[] prompt = keepBos ? concat(new int[] {fp[0]}, tail) : tail;
        int room = maxLength - prompt.length;
        return new PromptResponse(prompt, Arrays.copyOf(full.response(), Math.min(room, full.response().length)));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static double[] cut(double[] scores, int n) { return scores == null ? null : Arrays.copyOf(scores, n); }

    /** Chosen rows then rejected rows of a micro-batch, as one packed batch (TRL's concatenated forward). */
    static ResponseBatch concatenated(List<EncodedPair> part) {
        List<PromptResponse> rows = new ArrayList<>(2 * part.size());
        part.forEach(p -> rows.add(p.chosen()));
        part.forEach(p -> rows.add(p.rejected()));
        return ResponseBatch.pack(rows);
    }

    /** Micro-batches of consecutive pairs, as the trainer and the reference cache both cut them. */
    public static List<List<EncodedPair>> microBatches(List<EncodedPair> pairs, int batchSize) {
        List<List<EncodedPair>> out = new ArrayList<>();
        for (int from = 0; from < pairs.size(); from += batchSize)
            out.add(pairs.subList(from, Math.min(pairs.size(), from + batchSize)));
        return out;
    }

    /** A trained (or interrupted) policy adapter, still attached, and how the run went. */
    public record Trained(Lora lora, TrainResult result) {}

    /**
     * Validates the loss inputs, attaches a fresh policy adapter, checks at a fresh start that policy = reference on
     * the first micro-batch (catches a cache from another model), trains (resuming from {@code outDir}) and saves the
     * PEFT adapter there.
     */
    public static Trained train(LlamaModel model, List<EncodedPair> pairs, ReferenceLogps reference, Config config,
                                Path outDir, Map<String, String> provenance) {
        Objects.requireNonNull(reference, "reference log-probs are required (ReferenceLogps.compute/load)");
        if (reference.size() != pairs.size())
            throw new CtlabException("reference log-probs cover " + reference.size() + " pairs, the data " + pairs.size());
        Set<LossInput> available = EnumSet.of(LossInput.SEQUENCE_KL, LossInput.OFFICIAL_POSITIONS);
        if (pairs.stream().allMatch(p -> p.chosenScores() != null)) available.add(LossInput.CHOSEN_WEIGHTS);
        if (pairs.stream().allMatch(p -> p.rejectedScores() != null)) available.add(LossInput.REJECTED_WEIGHTS);
        LossInput.requireAvailable(config.loss(), available, "training pairs");
        Lora lora = Lora.attach(model, config.lora(), config.loraSeed());
        Job job = new Job(model, lora, pairs, reference, config);
        if (Checkpoint.latest(outDir.resolve(Trainer.CHECKPOINTS_DIR)).isEmpty()) {
            double diff = job.referenceGapAtStart();
            if (!(diff <= 1e-4))
                throw new CtlabException("reference log-probs do not match the model with its adapters disabled at step 0 "
                        + "(max |log π − log π_ref| = " + diff + "): the cache was made with another reference model");
        }
        boolean before = model.isTraining();
        model.setTraining(true);
        TrainResult result;
        try {
            result = new Trainer(config.train()).fit(job, outDir);
        } finally {
            model.setTraining(before);
        }
        if (result.finished()) lora.save(outDir, provenance);
        return new Trained(lora, result);
    }

    /** One micro-batch: packed rows and the per-token inputs that do not depend on the policy. */
    public record Batch(ResponseBatch rows, int pairs, int chosenWidth, int rejectedWidth, float[] chosenMask,
                        float[] rejectedMask, float[] referenceChosen, float[] referenceRejected,
                        float[] chosenWeights, float[] rejectedWeights, int officialPositions) {}

    /** The preference objective over fixed micro-batches of consecutive pairs. */
    public static final class Job implements TrainingTask<Batch> {
        private final LlamaModel model;
        private final Lora lora;
        private final PreferenceLoss loss;
        private final Set<LossInput> inputs;
        private final List<Batch> batches = new ArrayList<>();

        public Job(LlamaModel model, Lora lora, List<EncodedPair> pairs, ReferenceLogps reference, Config config) {
            this.model = model;
            this.lora = lora;
            this.loss = config.loss();
            this.inputs = loss.inputs();
            int index = 0;
            for (List<EncodedPair> part : microBatches(pairs, config.batchSize())) {
                batches.add(batch(part, reference, index));
                index += part.size();
            }
        }

        private static Batch batch(List<EncodedPair> part, ReferenceLogps ref, int first) {
            int b = part.size();
            int rc = Math.max(1, part.stream().mapToInt(p -> p.chosen().response().length).max().orElseThrow());
            int rr = Math.max(1, part.stream().mapToInt(p -> p.rejected().response().length).max().orElseThrow());
            float[] mc = new float[b * rc], mr = new float[b * rr], refC = new float[b * rc], refR = new float[b * rr];
            boolean hasWc = part.stream().allMatch(p -> p.chosenScores() != null);
            boolean hasWr = part.stream().allMatch(p -> p.rejectedScores() != null);
            float[] wc = hasWc ? new float[b * rc] : null, wr = hasWr ? new float[b * rr] : null;
            int grid = 0;
            for (int i = 0; i < b; i++) {
                EncodedPair p = part.get(i);
                fill(mc, refC, wc, i, rc, ref.chosen().get(first + i), p.chosenScores(), p.chosen().response().length);
                fill(mr, refR, wr, i, rr, ref.rejected().get(first + i), p.rejectedScores(), p.rejected().response().length);
                grid = Math.max(grid, Math.max(p.chosen().length(), p.rejected().length()) - 1);
            }
            return new Batch(concatenated(part), b, rc, rr, mc, mr, refC, refR, wc, wr, grid);
        }

        private static void fill(float[] mask, float[] ref, float[] w, int row, int width, float[] refRow, double[] scores, int n) {
            if (refRow.length != n) throw new CtlabException("reference log-probs of pair row " + row + " cover "
                    + refRow.length + " tokens, the response has " + n);
            for (int t = 0; t < n; t++) {
                mask[row * width + t] = 1;
                ref[row * width + t] = refRow[t];
                if (w != null) w[row * width + t] = (float) scores[t];
            }
        }

        /** max |policy − reference| log-prob over the first micro-batch, with the policy as it is now. */
        double referenceGapAtStart() {
            Batch b = batches.get(0);
            boolean training = model.isTraining();
            model.setTraining(false);
            try (NDManager m = NDManager.newBaseManager(model.device())) {
                ResponseBatch.Tensors tensors = b.rows().tensors(m);
                NDArray logp = b.rows().responseLogProbs(b.rows().logits(model, tensors), tensors);   // (2B, R)
                float[] flat = logp.toFloatArray();
                int r = b.rows().responseWidth();
                double max = 0;
                for (int i = 0; i < b.pairs(); i++) {
                    for (int t = 0; t < b.chosenWidth(); t++)
                        if (b.chosenMask()[i * b.chosenWidth() + t] > 0)
                            max = Math.max(max, Math.abs(flat[i * r + t] - b.referenceChosen()[i * b.chosenWidth() + t]));
                    for (int t = 0; t < b.rejectedWidth(); t++)
                        if (b.rejectedMask()[i * b.rejectedWidth() + t] > 0)
                            max = Math.max(max, Math.abs(flat[(b.pairs() + i) * r + t] - b.referenceRejected()[i * b.rejectedWidth() + t]));
                }
                return max;
            } finally {
                model.setTraining(training);
            }
        }

        @Override public List<Param> params() { return lora.parameters(); }

        @Override public int numMicroBatches() { return batches.size(); }

        @Override public Batch microBatch(int index) { return batches.get(index); }

        @Override public NDArray loss(NDManager sm, Batch b, Map<String, Double> metrics) {
            int n = b.pairs(), rc = b.chosenWidth(), rr = b.rejectedWidth();
            ResponseBatch rows = b.rows();
            ResponseBatch.Tensors t = rows.tensors(sm);                                    // ids kept alive until backward
            NDArray logits = rows.logits(model, t);                                        // (2B, R, V)
            NDArray logp = rows.responseLogProbs(logits, t);                               // (2B, R)
            NDArray policyChosen = logp.get("0:" + n + ", 0:" + rc);                       // (B, Rc)
            NDArray policyRejected = logp.get(n + ":" + (2 * n) + ", 0:" + rr);            // (B, Rr)
            NDArray maskC = sm.create(b.chosenMask(), new Shape(n, rc));
            NDArray maskR = sm.create(b.rejectedMask(), new Shape(n, rr));
            PreferenceBatch batch = PreferenceBatch.of(policyChosen, policyRejected,
                    sm.create(b.referenceChosen(), new Shape(n, rc)), sm.create(b.referenceRejected(), new Shape(n, rr)),
                    maskC, maskR);
            // only the inputs the loss declares (train() checked that the data has them)
            if (inputs.contains(LossInput.CHOSEN_WEIGHTS) || inputs.contains(LossInput.REJECTED_WEIGHTS))
                batch = batch.withWeights(
                        inputs.contains(LossInput.CHOSEN_WEIGHTS) ? sm.create(b.chosenWeights(), new Shape(n, rc)) : null,
                        inputs.contains(LossInput.REJECTED_WEIGHTS) ? sm.create(b.rejectedWeights(), new Shape(n, rr)) : null);
            if (inputs.contains(LossInput.SEQUENCE_KL)) {
                NDArray referenceLogits = referenceLogits(rows, t);                        // (2B, R, V)
                NDArray kl = SequenceKl.perToken(referenceLogits, logits); // (2B, R)
                batch = batch.withKl(kl.get("0:" + n + ", 0:" + rc).mul(maskC), kl.get(n + ":" + (2 * n) + ", 0:" + rr).mul(maskR));
            }
            if (inputs.contains(LossInput.OFFICIAL_POSITIONS)) batch = batch.withOfficialPositions(b.officialPositions());
            LossResult r = loss.compute(batch);
            metrics.putAll(r.metrics());
            return r.loss();
        }

        /** The reference model's logits: the same base with this adapter disabled and dropout off. */
        private NDArray referenceLogits(ResponseBatch rows, ResponseBatch.Tensors t) {
            boolean training = model.isTraining();
            lora.setEnabled(false);
            model.setTraining(false);
            try {
                return rows.logits(model, t).stopGradient();
            } finally {
                lora.setEnabled(true);
                model.setTraining(training);
            }
        }

        @Override public long tokens(Batch b) { return b.rows().realTokens(); }

        @Override public void afterBackward() { model.backwardCheckpoints(); }

        @Override public void writeCheckpointExtras(Path checkpointDir) { lora.save(checkpointDir, Map.of()); }
    }
}

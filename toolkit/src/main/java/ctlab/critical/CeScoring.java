package ctlab.critical;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ctlab.CtlabException;
import ctlab.data.PreferencePair;
import ctlab.data.PromptResponse;
import ctlab.data.ScoredPair;
import ctlab.data.ScoredSide;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Contrastive-estimation scores of whole token sequences with a positive and a negative LoRA adapter on ONE base
 * model (adapters switched with {@link Lora#activate()}, dropout off).
 *
 * <p>{@link #scoreBatched} runs {@code batchSize} right-padded sequences per forward of each adapter and the
 * {@link ContrastiveEstimator} log-softmax + gather on the whole batch. {@link #scoreOfficialLoop} is the official
 * code's method (src/pipeline.py {@code calculate_ce_score}): one sequence at a time, the full-vocabulary softmax of
 * {@code (1+β) z⁺ − β z⁻} copied to host memory and indexed there; kept for the benchmark and as a cross-check.
 */
public final class CeScoring {
    private CeScoring() {}

    /**
     * s for tokens 1..L−1 of each sequence (official layout: entry j scores token j+1).
     *
     * @param sequences token ids (prompt + response, no EOS, BOS included when the tokenizer adds one)
     */
    public static List<double[]> scoreBatched(LlamaModel model, Lora positive, Lora negative, List<int[]> sequences,
                                              ContrastiveEstimator estimator, int batchSize) {
        List<double[]> out = new ArrayList<>(sequences.size());
        Lora active = model.lora();
        boolean training = model.isTraining();
        model.setTraining(false);
        try {
            for (int from = 0; from < sequences.size(); from += batchSize) {
                List<int[]> part = sequences.subList(from, Math.min(sequences.size(), from + batchSize));
                int b = part.size(), l = part.stream().mapToInt(s -> s.length).max().orElseThrow();
                if (l < 2) throw new IllegalArgumentException("a scored sequence needs at least 2 tokens");
                long[] ids = new long[b * l];
                float[] mask = new float[b * l];
                for (int i = 0; i < b; i++) {
                    int[] s = part.get(i);
                    for (int j = 0; j < s.length; j++) { ids[i * l + j] = s[j]; mask[i * l + j] = 1; }
                }
                try (NDManager m = NDManager.newBaseManager(model.device())) {
                    NDArray idArr = m.create(ids, new Shape(b, l));                 // (B, L) int64
                    NDArray maskArr = m.create(mask, new Shape(b, l));              // (B, L)
                    positive.activate();
                    NDArray hPos = model.hiddenStates(idArr, maskArr);              // (B, L, H)
                    negative.activate();
                    NDArray hNeg = model.hiddenStates(idArr, maskArr);              // (B, L, H)
                    float[] flat = chunkedScores(model, estimator, hPos, hNeg, idArr, maskArr, CHUNK_ELEMENTS);  // (B, L-1)
                    for (int i = 0; i < b; i++) {
                        double[] row = new double[part.get(i).length - 1];
                        for (int j = 0; j < row.length; j++) row[j] = flat[i * (l - 1) + j];
                        out.add(row);
                    }
                }
            }
        } finally {
            if (active != null) active.activate();
            model.setTraining(training);
        }
        return out;
    }

    /** fp32 elements of one (B, chunk, V) logits array: 2^27 = 512 MB (three such arrays live per chunk). */
    static final long CHUNK_ELEMENTS = 1L << 27;

    /**
     * {@link ContrastiveEstimator#sequenceScores} computed over position chunks of the hidden states, so the (B, L, V)
     * logits of the two models never exist at once: a chunk holds at most {@link #CHUNK_ELEMENTS} logits per model.
     * Each position's scores are the same as from the whole array (the softmax is per position).
     *
     * @return (B, L-1) scores, row-major
     */
    static float[] chunkedScores(LlamaModel model, ContrastiveEstimator estimator, NDArray hPos, NDArray hNeg,
                                 NDArray ids, NDArray mask, long chunkElements) {
        long b = ids.getShape().get(0), l = ids.getShape().get(1), v = model.config().vocabSize();
        int chunk = (int) Math.max(1, Math.min(l - 1, chunkElements / (b * v)));
        float[] out = new float[(int) (b * (l - 1))];
        for (long from = 0; from < l - 1; from += chunk) {
            long to = Math.min(l - 1, from + chunk);
            try (NDManager cm = hPos.getManager().newSubManager()) {
                NDIndex rows = new NDIndex().addAllDim().addSliceDim(from, to);                 // positions predicting
                NDIndex targets = new NDIndex().addAllDim().addSliceDim(from + 1, to + 1);      // the tokens they predict
                NDArray hp = hPos.get(rows), hn = hNeg.get(rows);
                hp.attach(cm);
                hn.attach(cm);
                NDArray zp = model.headLogits(hp), zn = model.headLogits(hn);                   // (B, c, V)
                NDArray t = ids.get(targets), m = mask.get(targets);
                t.attach(cm);
                m.attach(cm);
                NDArray s = estimator.scores(zp, zn, t, m);                                     // (B, c)
                s.attach(cm);
                float[] part = s.toFloatArray();
                int c = (int) (to - from);
                for (int i = 0; i < b; i++) System.arraycopy(part, i * c, out, (int) (i * (l - 1) + from), c);
            }
        }
        return out;
    }

    /**
     * The official loop for one sequence: forward the positive and the negative model on it alone, softmax the full
     * vocabulary of {@code (1+β) z⁺ − β z⁻}, copy the (L, V) probabilities to host memory, index token j+1 at row j.
     */
    public static double[] scoreOfficialLoop(LlamaModel model, Lora positive, Lora negative, int[] sequence, double beta) {
        Lora active = model.lora();
        boolean training = model.isTraining();
        model.setTraining(false);
        int l = sequence.length;
        try (NDManager m = NDManager.newBaseManager(model.device())) {
            long[] ids = new long[l];
            for (int j = 0; j < l; j++) ids[j] = sequence[j];
            NDArray idArr = m.create(ids, new Shape(1, l));
            NDArray maskArr = m.ones(new Shape(1, l));
            positive.activate();
            NDArray zPos = model.logits(idArr, maskArr);                                  // (1, L, V)
            negative.activate();
            NDArray zNeg = model.logits(idArr, maskArr);                                  // (1, L, V)
            NDArray cd = zPos.mul((float) (1 + beta)).sub(zNeg.mul((float) beta));        // (1, L, V)
            float[] probs = cd.softmax(-1).toFloatArray();                                // (L*V) on the host
            int v = Math.toIntExact(zPos.getShape().get(2));
            double[] out = new double[l - 1];
            for (int j = 0; j < l - 1; j++) out[j] = probs[j * v + sequence[j + 1]];
            return out;
        } finally {
            if (active != null) active.activate();
            model.setTraining(training);
        }
    }

    /**
     * Scores the chosen and rejected responses of {@code pairs} (batched; 2 sequences per pair) on their carried ids
     * ({@code prompt_ids ++ chosen_ids}, {@code prompt_ids ++ rejected_ids}: no EOS, as the official code scores
     * the sampled response) into {@link ScoredPair} records in the official layout. The texts in the scores are
     * decoded from the ids.
     *
     * @param tokenizer only decodes the response ids for the official layout's {@code text}
     */
    public static List<ScoredPair> scorePairs(LlamaModel model, Lora positive, Lora negative, Tokenizer tokenizer,
                                              List<PreferencePair> pairs, ContrastiveEstimator estimator,
                                              int batchSize, String source, int firstIndex) {
        List<int[]> seqs = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            PreferencePair p = pairs.get(i);
            for (PromptResponse pr : new PromptResponse[] {p.chosenSequence(), p.rejectedSequence()}) {
                if (pr.length() < 2)
                    throw new CtlabException(source + ":" + (firstIndex + i + 1) + ": pair " + p.pairId()
                            + ": prompt + response has fewer than 2 tokens");
                seqs.add(pr.ids());
            }
        }
        List<double[]> scores = scoreBatched(model, positive, negative, seqs, estimator, batchSize);
        List<ScoredPair> out = new ArrayList<>(pairs.size());
        for (int i = 0; i < pairs.size(); i++) {
            PreferencePair p = pairs.get(i);
            int prompt = p.promptIds().length;
            out.add(new ScoredPair(p,
                    ScoredSide.ofSequence(scores.get(2 * i), prompt, decode(tokenizer, p.chosenIds())),
                    ScoredSide.ofSequence(scores.get(2 * i + 1), prompt, decode(tokenizer, p.rejectedIds()))));
        }
        return out;
    }

    private static String decode(Tokenizer t, int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        return t.decode(l, false);
    }
}

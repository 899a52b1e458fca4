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
import ctlab.model.KvCache;
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

    /**
     * The scores {@link #scoreBatched} gives {@code prompt ++ chosen} and {@code prompt ++ rejected} of each pair (in
     * that order: 2 entries per pair), computed with the prompt run once per pair and adapter: the left-padded
     * prompts are prefilled into a {@link KvCache}, each row is expanded to its two responses
     * ({@link KvCache#selectRows}), and the right-padded responses run from there ({@link LlamaModel#extendHidden}).
     * Only the positions that score a token are projected to the vocabulary, no padding, and the prompt's positions
     * once per pair (its tokens score the same in both sequences); the last prompt position scores both first
     * response tokens.
     *
     * @param batchSize sequences per forward, as for {@link #scoreBatched} (batchSize / 2 pairs, at least 1)
     */
    public static List<double[]> scoreSharedPrompt(LlamaModel model, Lora positive, Lora negative, List<int[]> prompts,
                                                   List<int[]> chosen, List<int[]> rejected,
                                                   ContrastiveEstimator estimator, int batchSize) {
        return scoreSharedPrompt(model, positive, negative, prompts, chosen, rejected, estimator, batchSize, true);
    }

    /**
     * As {@link #scoreSharedPrompt(LlamaModel, Lora, Lora, List, List, List, ContrastiveEstimator, int)}; with
     * {@code promptScores} false only the response tokens are scored: entry t of each result is s of response token
     * t (R entries), and of the prompt's hidden states only the last position (which scores the first response
     * token) is projected to the vocabulary.
     */
    public static List<double[]> scoreSharedPrompt(LlamaModel model, Lora positive, Lora negative, List<int[]> prompts,
                                                   List<int[]> chosen, List<int[]> rejected,
                                                   ContrastiveEstimator estimator, int batchSize, boolean promptScores) {
        if (prompts.size() != chosen.size() || prompts.size() != rejected.size())
            throw new IllegalArgumentException("prompts, chosen and rejected differ in length");
        for (int i = 0; i < prompts.size(); i++) {
            int p = prompts.get(i).length;
            if (p < 1 || p + Math.min(chosen.get(i).length, rejected.get(i).length) < 2)
                throw new IllegalArgumentException("pair " + i + ": a scored sequence needs a prompt token and at least 2 tokens");
        }
        int perCall = Math.max(1, batchSize / 2);
        List<double[]> out = new ArrayList<>(2 * prompts.size());
        Lora active = model.lora();
        boolean training = model.isTraining();
        model.setTraining(false);
        try {
            for (int from = 0; from < prompts.size(); from += perCall) {
                int to = Math.min(prompts.size(), from + perCall);
                out.addAll(sharedPromptPart(model, positive, negative, prompts.subList(from, to),
                        chosen.subList(from, to), rejected.subList(from, to), estimator, promptScores));
            }
        } finally {
            if (active != null) active.activate();
            model.setTraining(training);
        }
        return out;
    }

    private static List<double[]> sharedPromptPart(LlamaModel model, Lora positive, Lora negative, List<int[]> prompts,
                                                   List<int[]> chosen, List<int[]> rejected, ContrastiveEstimator estimator,
                                                   boolean promptScores) {
        int n = prompts.size();
        int pMax = prompts.stream().mapToInt(a -> a.length).max().orElseThrow();
        int rMax = Math.max(chosen.stream().mapToInt(a -> a.length).max().orElseThrow(),
                rejected.stream().mapToInt(a -> a.length).max().orElseThrow());
        long[] pIds = new long[n * pMax];
        float[] pMask = new float[n * pMax];
        long[] rIds = new long[2 * n * rMax];                                   // right padding: id 0, never scored
        List<double[]> out = new ArrayList<>(2 * n);
        // the rows of the flat (n·kept + 2n·rMax, H) hidden states that score a token, the token, where it goes; kept:
        // prompt positions kept per row (all pMax, or only the last when the prompt tokens are not scored)
        int kept = promptScores ? pMax : 1;
        int rows = 0;
        for (int i = 0; i < n; i++)
            rows += (promptScores ? prompts.get(i).length - 1 : 0) + chosen.get(i).length + rejected.get(i).length;
        long[] row = new long[rows], target = new long[rows];
        int[] dst = new int[rows], dst2 = new int[rows], at = new int[rows];   // out index (dst2: a 2nd one or -1), entry
        int r = 0;
        for (int i = 0; i < n; i++) {
            int[] p = prompts.get(i);
            int pad = pMax - p.length;
            for (int j = 0; j < p.length; j++) { pIds[i * pMax + pad + j] = p[j]; pMask[i * pMax + pad + j] = 1; }
            for (int j = 0; promptScores && j + 1 < p.length; j++) {            // prompt tokens: shared by both sides
                row[r] = (long) i * pMax + pad + j; target[r] = p[j + 1]; dst[r] = 2 * i; dst2[r] = 2 * i + 1; at[r++] = j;
            }
            int offset = promptScores ? p.length - 1 : 0;                       // entry of response token 0
            for (int side = 0; side < 2; side++) {
                int[] resp = (side == 0 ? chosen : rejected).get(i);
                int seq = 2 * i + side;
                out.add(new double[offset + resp.length]);
                for (int j = 0; j < resp.length; j++) {
                    rIds[seq * rMax + j] = resp[j];
                    // token j of the response is scored by the position before it: the prompt's last, or response j-1
                    row[r] = j == 0 ? (long) i * kept + kept - 1 : (long) n * kept + (long) seq * rMax + j - 1;
                    target[r] = resp[j]; dst[r] = seq; dst2[r] = -1; at[r++] = offset + j;
                }
            }
        }
        if (rows == 0) return out;                                              // nothing to score (empty responses)
        long[] pairOf = new long[2 * n];
        for (int i = 0; i < 2 * n; i++) pairOf[i] = i / 2;
        int h = model.config().hiddenSize();
        try (NDManager m = NDManager.newBaseManager(model.device())) {
            NDArray pIdArr = m.create(pIds, new Shape(n, pMax)), pMaskArr = m.create(pMask, new Shape(n, pMax));
            NDArray rIdArr = rMax == 0 ? null : m.create(rIds, new Shape(2L * n, rMax));
            NDArray rowArr = m.create(row);
            NDArray[] picked = new NDArray[2];                                  // (rows, H) per adapter
            for (int k = 0; k < 2; k++) {
                (k == 0 ? positive : negative).activate();
                try (NDManager km = m.newSubManager(); KvCache cache = model.newCache()) {
                    NDArray hs = model.prefillHidden(cache, pIdArr, pMaskArr);  // (n, pMax, H)
                    hs.attach(km);
                    // response-only: the prompt's last position alone (left padding puts it at pMax - 1 in every row)
                    NDArray flat = promptScores ? hs.reshape((long) n * pMax, h)
                            : hs.get(new NDIndex().addAllDim().addSliceDim(pMax - 1, pMax)).reshape(n, h);   // (n, H)
                    if (rIdArr != null) {
                        cache.selectRows(pairOf);                               // (2n, ...): each prompt twice
                        NDArray hr = model.extendHidden(cache, rIdArr);         // (2n, rMax, H)
                        hr.attach(km);
                        flat = flat.concat(hr.reshape(2L * n * rMax, h), 0);
                    }
                    picked[k] = flat.get(new NDIndex("{}", rowArr));            // (rows, H)
                    picked[k].attach(m);
                }
            }
            NDArray tArr = m.create(target);
            int chunk = (int) Math.max(1, Math.min(rows, CHUNK_ELEMENTS / model.config().vocabSize()));
            for (int from = 0; from < rows; from += chunk) {
                int to = Math.min(rows, from + chunk), c = to - from;
                try (NDManager cm = m.newSubManager()) {
                    NDArray hp = picked[0].get(new NDIndex().addSliceDim(from, to)).reshape(1, c, h);
                    NDArray hn = picked[1].get(new NDIndex().addSliceDim(from, to)).reshape(1, c, h);
                    NDArray t = tArr.get(new NDIndex().addSliceDim(from, to)).reshape(1, c);
                    for (NDArray a : new NDArray[] {hp, hn, t}) a.attach(cm);
                    NDArray ones = cm.ones(new Shape(1, c));
                    NDArray s = estimator.scores(model.headLogits(hp), model.headLogits(hn), t, ones);  // (1, c)
                    s.attach(cm);
                    float[] v = s.toFloatArray();
                    for (int q = 0; q < c; q++) {
                        int e = from + q;
                        out.get(dst[e])[at[e]] = v[q];
                        if (dst2[e] >= 0) out.get(dst2[e])[at[e]] = v[q];
                    }
                }
            }
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
     * Scores the chosen and rejected responses of {@code pairs} ({@link #scoreSharedPrompt}: the prompt run once per
     * pair) on their carried ids
     * ({@code prompt_ids ++ chosen_ids}, {@code prompt_ids ++ rejected_ids}: no EOS, as the official code scores
     * the sampled response) into {@link ScoredPair} records in the official layout. The texts in the scores are
     * decoded from the ids.
     *
     * @param tokenizer only decodes the response ids for the official layout's {@code text}
     */
    public static List<ScoredPair> scorePairs(LlamaModel model, Lora positive, Lora negative, Tokenizer tokenizer,
                                              List<PreferencePair> pairs, ContrastiveEstimator estimator,
                                              int batchSize, String source, int firstIndex) {
        return scorePairs(model, positive, negative, tokenizer, pairs, estimator, batchSize, source, firstIndex, true);
    }

    /**
     * As {@link #scorePairs(LlamaModel, Lora, Lora, Tokenizer, List, ContrastiveEstimator, int, String, int)}; with
     * {@code promptScores} false (score-ce's {@code ce.prompt_scores: false}) the prompt positions are neither
     * projected nor stored: the records are in the response-only layout ({@link ScoredSide#ofResponse}), with the same
     * response scores.
     */
    public static List<ScoredPair> scorePairs(LlamaModel model, Lora positive, Lora negative, Tokenizer tokenizer,
                                              List<PreferencePair> pairs, ContrastiveEstimator estimator,
                                              int batchSize, String source, int firstIndex, boolean promptScores) {
        List<int[]> prompts = new ArrayList<>(), chosen = new ArrayList<>(), rejected = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            PreferencePair p = pairs.get(i);
            for (PromptResponse pr : new PromptResponse[] {p.chosenSequence(), p.rejectedSequence()}) {
                if (pr.length() < 2)
                    throw new CtlabException(source + ":" + (firstIndex + i + 1) + ": pair " + p.pairId()
                            + ": prompt + response has fewer than 2 tokens");
            }
            prompts.add(p.promptIds());
            chosen.add(p.chosenIds());
            rejected.add(p.rejectedIds());
        }
        List<double[]> scores = scoreSharedPrompt(model, positive, negative, prompts, chosen, rejected, estimator,
                batchSize, promptScores);
        List<ScoredPair> out = new ArrayList<>(pairs.size());
        for (int i = 0; i < pairs.size(); i++) {
            PreferencePair p = pairs.get(i);
            int prompt = p.promptIds().length;
            String c = decode(tokenizer, p.chosenIds()), r = decode(tokenizer, p.rejectedIds());
            out.add(promptScores
                    ? new ScoredPair(p, ScoredSide.ofSequence(scores.get(2 * i), prompt, c), ScoredSide.ofSequence(scores.get(2 * i + 1), prompt, r))
                    : new ScoredPair(p, ScoredSide.ofResponse(scores.get(2 * i), c), ScoredSide.ofResponse(scores.get(2 * i + 1), r)));
        }
        return out;
    }

    private static String decode(Tokenizer t, int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        return t.decode(l, false);
    }
}

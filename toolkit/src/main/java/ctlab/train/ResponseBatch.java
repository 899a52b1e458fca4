package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ctlab.data.PromptResponse;
import ctlab.model.LlamaModel;

import java.util.List;

/**
 * Rows of (prompt, response) packed so every response starts at the same column: prompts are LEFT-padded to the
 * longest prompt P and responses RIGHT-padded to the longest response R. The model's position ids count real tokens
 * (cumsum of the mask), so left padding does not shift positions. Then the response-aligned log-probs, column t =
 * log π(response token t | prompt, response_&lt;t), are one slice of the shared shifted log-prob function:
 * {@code shiftedLogProbs[:, P-1 : P-1+R]}.
 *
 * @param rows           B
 * @param promptWidth    P
 * @param responseWidth  R
 * @param ids            (B, P+R) row-major token ids, 0 at padding
 * @param attention      (B, P+R) 1 for real tokens
 * @param responseMask   (B, R) 1 for real response tokens
 * @param responseLengths response tokens per row
 * @param promptLengths  prompt tokens per row
 */
public record ResponseBatch(int rows, int promptWidth, int responseWidth, long[] ids, float[] attention,
                            float[] responseMask, int[] responseLengths, int[] promptLengths) {

    public static ResponseBatch pack(List<PromptResponse> seqs) {
        if (seqs.isEmpty()) throw new IllegalArgumentException("empty batch");
        int b = seqs.size();
        int p = seqs.stream().mapToInt(s -> s.prompt().length).max().orElseThrow();
        int r = Math.max(1, seqs.stream().mapToInt(s -> s.response().length).max().orElseThrow());
        int t = p + r;
        long[] ids = new long[b * t];
        float[] att = new float[b * t];
        float[] rm = new float[b * r];
        int[] rl = new int[b], pl = new int[b];
        for (int i = 0; i < b; i++) {
            PromptResponse s = seqs.get(i);
            int off = p - s.prompt().length;
            for (int j = 0; j < s.prompt().length; j++) { ids[i * t + off + j] = s.prompt()[j]; att[i * t + off + j] = 1; }
            for (int j = 0; j < s.response().length; j++) {
                ids[i * t + p + j] = s.response()[j];
                att[i * t + p + j] = 1;
                rm[i * r + j] = 1;
            }
            rl[i] = s.response().length;
            pl[i] = s.prompt().length;
        }
        return new ResponseBatch(b, p, r, ids, att, rm, rl, pl);
    }

    public int width() { return promptWidth + responseWidth; }

    public long responseTokens() {
        long n = 0;
        for (int x : responseLengths) n += x;
        return n;
    }

    public long realTokens() {
        long n = 0;
        for (float x : attention) n += (long) x;
        return n;
    }

    /** (B, P+R) int64 ids in {@code m}. */
    public NDArray idsArray(NDManager m) { return m.create(ids, new Shape(rows, width())); }

    /** (B, P+R) float32 attention mask in {@code m}. */
    public NDArray attentionArray(NDManager m) { return m.create(attention, new Shape(rows, width())); }

    /** (B, R) float32 response mask in {@code m}. */
    public NDArray responseMaskArray(NDManager m) { return m.create(responseMask, new Shape(rows, responseWidth)); }

    /**
     * The batch's ids and attention mask as arrays of {@code m}. Create them in the manager that outlives the
     * backward pass (the trainer's step manager): arrays made from Java data may share native memory with the
     * Java side, and autograd keeps using the ids (the gather index) until backward has run.
     */
    public Tensors tensors(NDManager m) { return new Tensors(idsArray(m), attentionArray(m)); }

    /** ids (B, P+R) int64 and attention (B, P+R) float32 of one batch. */
    public record Tensors(NDArray ids, NDArray attention) {}

    /**
     * Teacher-forced logits at the positions that predict each response token, column t predicting response token t:
     * (B, R, V), attached to the ids' manager. Only these R positions are projected to the vocabulary (the prompt's
     * and the last token's logits were never used; at a real vocabulary the projection is most of the cost).
     */
    public NDArray logits(LlamaModel model, Tensors t) {
        NDArray h = model.hiddenStates(t.ids(), t.attention());                                   // (B, P+R, H)
        return model.headLogits(h.get(":, " + (promptWidth - 1) + ":" + (promptWidth - 1 + responseWidth) + ", :"));
    }

    /**
     * Response-aligned log π(y_t): (B, R), 0 at padding, from THE shared per-token log-prob function
     * ({@link LlamaModel#tokenLogProbs}, as {@link LlamaModel#shiftedLogProbs} applies it) over {@link #logits}.
     */
    public NDArray responseLogProbs(NDArray logits, Tensors t) {
        String cols = ":, " + promptWidth + ":" + (promptWidth + responseWidth);
        NDArray m = t.attention().get(cols).toType(ai.djl.ndarray.types.DataType.FLOAT32, false);   // (B, R)
        return LlamaModel.tokenLogProbs(logits, t.ids().get(cols)).mul(m);                       // (B, R)
    }
}

package ctlab.train;

import ctlab.CtlabException;
import ctlab.model.Tokenizer;

import java.util.Arrays;

/**
 * A prompt and a response tokenized separately and concatenated as ids, so no BPE merge crosses the boundary and the
 * response start is a token index, never found by decoding text: {@code [BOS] + prompt + response [+ EOS]}, with BOS
 * only for tokenizers that add one ({@link Tokenizer#encodePrompt}; Qwen2 adds none) and exactly once, and EOS
 * exactly once when asked for.
 *
 * @param prompt   prompt ids, BOS included when the tokenizer adds one
 * @param response response ids, EOS included when it was appended
 */
public record PromptResponse(int[] prompt, int[] response) {
    public PromptResponse {
        if (prompt.length < 1) throw new IllegalArgumentException("a prompt needs at least one token (BOS or text)");
        prompt = prompt.clone();
        response = response.clone();
    }

    /** Number of tokens of prompt + response. */
    public int length() { return prompt.length + response.length; }

    /** prompt ++ response. */
    public int[] ids() {
        int[] ids = Arrays.copyOf(prompt, length());
        System.arraycopy(response, 0, ids, prompt.length, response.length);
        return ids;
    }

    /**
     * Tokenizes {@code promptText} with the tokenizer's special tokens ({@link Tokenizer#encodePrompt}) and
     * {@code responseText} without ({@link Tokenizer#encodeResponse}), and appends EOS when {@code appendEos}.
     *
     * @param where names the record in error messages (file:line)
     */
    public static PromptResponse encode(Tokenizer tokenizer, String promptText, String responseText, boolean appendEos,
                                        String where) {
        int bos = tokenizer.bosId(), eos = tokenizer.eosId();
        int[] prompt = tokenizer.encodePrompt(promptText);
        int[] r = tokenizer.encodeResponse(responseText);
        if (bos >= 0 && contains(Arrays.copyOfRange(prompt, 1, prompt.length), bos))
            throw new CtlabException(where + ": the prompt text already contains the BOS token; the tokenizer adds it once");
        if (appendEos && eos < 0) throw new CtlabException(where + ": the tokenizer has no EOS token to append");
        if (eos >= 0 && contains(r, eos))
            throw new CtlabException(where + ": the response text contains the EOS token; it is appended once by ctlab");
        if (prompt.length == 0) throw new CtlabException(where + ": empty prompt and the tokenizer adds no BOS token");
        int[] response = appendEos ? append(r, eos) : r;
        return new PromptResponse(prompt, response);
    }

    /**
     * Truncated as TRL's DPO trainer does: when prompt + response exceeds {@code maxLength}, the prompt keeps its last
     * {@code maxPromptLength} tokens (BOS kept first), then the response is cut to fit.
     */
    public PromptResponse truncate(int maxPromptLength, int maxLength, boolean keepBos) {
        if (length() <= maxLength) return this;
        int[] p = prompt;
        if (p.length > maxPromptLength) {
            int[] tail = Arrays.copyOfRange(p, p.length - maxPromptLength + (keepBos ? 1 : 0), p.length);
            p = keepBos ? prepend(prompt[0], tail) : tail;
        }
        int room = Math.max(0, maxLength - p.length);
        int[] r = response.length > room ? Arrays.copyOf(response, room) : response;
        return new PromptResponse(p, r);
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }

    private static int[] prepend(int v, int[] a) {
        int[] out = new int[a.length + 1];
        out[0] = v;
        System.arraycopy(a, 0, out, 1, a.length);
        return out;
    }

    private static int[] append(int[] a, int v) {
        int[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = v;
        return out;
    }

    @Override public boolean equals(Object o) {
        return o instanceof PromptResponse x && Arrays.equals(prompt, x.prompt) && Arrays.equals(response, x.response);
    }

    @Override public int hashCode() { return 31 * Arrays.hashCode(prompt) + Arrays.hashCode(response); }

    @Override public String toString() { return "PromptResponse[" + prompt.length + " + " + response.length + " tokens]"; }
}

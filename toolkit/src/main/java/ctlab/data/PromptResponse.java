package ctlab.data;

import ctlab.CtlabException;

import java.util.Arrays;

/**
 * A prompt and a response as ids, kept apart so the response start is a token index, never found by decoding text:
 * the carried ids of a record ({@link PreferencePair}, {@link SftExample}), EOS appended once by the trainers
 * ({@link #withEos}).
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

    /** The same prompt with {@code eos} appended to the response: what the trainers feed (EOS exactly once). */
    public PromptResponse withEos(int eos) {
        if (eos < 0) throw new CtlabException("the tokenizer has no EOS token to append");
        return new PromptResponse(prompt, append(response, eos));
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

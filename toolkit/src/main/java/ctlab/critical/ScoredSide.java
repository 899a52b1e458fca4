package ctlab.critical;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import ctlab.CtlabException;

import java.util.Arrays;
import java.util.Objects;

/**
 * CE scores of one tokenized (prompt + response) sequence in the official layout ({@code prob_result.pos} /
 * {@code prob_result.neg} of the official CE file): {@code ce_prob[j]} is s of token j+1 of the sequence (the first
 * token has no score), and the response tokens are those from index {@code response_start_idx + 1} on, so their
 * scores are {@code ce_prob[response_start_idx:]}. With P prompt tokens (BOS included when the tokenizer adds one),
 * response_start_idx = P − 1.
 *
 * @param ceProb           s for tokens 1..N−1 of the sequence, each in [0, 1]
 * @param responseStartIdx index into ceProb of the first response token's score
 * @param text             the decoded response text
 */
@JsonPropertyOrder({"ce_prob", "response_start_idx", "text"})
public record ScoredSide(@JsonProperty("ce_prob") double[] ceProb,
                         @JsonProperty("response_start_idx") int responseStartIdx,
                         @JsonProperty("text") String text) {

    public ScoredSide {
        Objects.requireNonNull(ceProb, "ce_prob");
        Objects.requireNonNull(text, "text");
        if (responseStartIdx < 0 || responseStartIdx > ceProb.length)
            throw new IllegalArgumentException("response_start_idx " + responseStartIdx + " outside 0.." + ceProb.length);
        for (int i = 0; i < ceProb.length; i++)
            if (!(ceProb[i] >= 0 && ceProb[i] <= 1))
                throw new IllegalArgumentException("ce_prob[" + i + "] = " + ceProb[i] + " is not a probability");
        ceProb = ceProb.clone();
    }

    /**
     * From scores of a whole sequence ({@link ContrastiveEstimator#sequenceScores}, one row, padding cut off).
     *
     * @param promptTokens number of prompt tokens P at the start of the sequence (≥ 1)
     */
    public static ScoredSide ofSequence(double[] sequenceScores, int promptTokens, String responseText) {
        if (promptTokens < 1) throw new IllegalArgumentException("a scored sequence needs at least one prompt token");
        return new ScoredSide(sequenceScores, promptTokens - 1, responseText);
    }

    /** Number of response tokens these scores cover. */
    @JsonIgnore public int responseTokenCount() { return ceProb.length - responseStartIdx; }

    /** s_t of the response tokens, in order. */
    @JsonIgnore public double[] responseScores() { return Arrays.copyOfRange(ceProb, responseStartIdx, ceProb.length); }

    /**
     * The response scores, after asserting they align with a response of {@code responseTokens} tokens (the
     * count the trainer got from tokenizing the response); a mismatch means the scores were made with a different
     * tokenizer or prompt split and is an error, never silently padded or cut.
     *
     * @param where names the record for the error message (file and index)
     */
    public double[] alignedResponseScores(int responseTokens, String where) {
        if (responseTokenCount() != responseTokens)
            throw new CtlabException(where + ": CE scores cover " + responseTokenCount() + " response tokens but the "
                    + "response has " + responseTokens + " tokens (different tokenizer or prompt/response split?)");
        return responseScores();
    }


    /** s given to an appended EOS token of the chosen response so the official weight w⁺ = s = 1. */
    public static final double OFFICIAL_CHOSEN_EOS_SCORE = 1.0;
    /** s given to an appended EOS token of the rejected response so the official weight 1 − s = 1. */
    public static final double OFFICIAL_REJECTED_EOS_SCORE = 0.0;

    /**
     * The response scores for a response that the trainer tokenizes with one EOS token appended (CE scoring, like the
     * official code, sees the response without EOS): asserts the count is {@code responseTokensWithEos − 1} and
     * appends {@code eosScore} ({@link #OFFICIAL_CHOSEN_EOS_SCORE} or {@link #OFFICIAL_REJECTED_EOS_SCORE} to
     * reproduce the official trainer).
     */
    public double[] alignedResponseScoresWithEos(int responseTokensWithEos, double eosScore, String where) {
        if (!(eosScore >= 0 && eosScore <= 1)) throw new IllegalArgumentException("EOS score " + eosScore + " is not a probability");
        double[] scores = alignedResponseScores(responseTokensWithEos - 1, where + " (response without its EOS)");
        double[] out = Arrays.copyOf(scores, scores.length + 1);
        out[scores.length] = eosScore;
        return out;
    }

    @Override public boolean equals(Object o) {
        return o instanceof ScoredSide s && responseStartIdx == s.responseStartIdx && text.equals(s.text)
                && Arrays.equals(ceProb, s.ceProb);
    }

    @Override public int hashCode() { return Objects.hash(Arrays.hashCode(ceProb), responseStartIdx, text); }

    @Override public String toString() {
        return "ScoredSide[" + ceProb.length + " scores, response_start_idx=" + responseStartIdx + ", text=" + text + "]";
    }
}

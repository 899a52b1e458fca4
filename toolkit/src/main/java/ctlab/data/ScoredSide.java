package ctlab.data;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.Arrays;
import java.util.Objects;

/**
 * CE scores of one tokenized (prompt + response) sequence in the official layout ({@code prob_result.pos} /
 * {@code prob_result.neg} of the official CE file): {@code ce_prob[j]} is s of token j+1 of the sequence (the first
 * token has no score), and the response tokens are those from index {@code response_start_idx + 1} on, so their
 * scores are {@code ce_prob[response_start_idx:]}. With P prompt tokens (BOS included when the tokenizer adds one),
 * response_start_idx = P − 1.
 *
 * <p>The response-only layout ({@link #ofResponse}, score-ce with {@code ce.prompt_scores: false}) stores the R
 * response scores alone: {@code ce_prob[t]} is s of response token t and response_start_idx = 0, so
 * {@link #responseScores()} reads both layouts alike. Which one a side uses is checked against the pair's ids by
 * {@link ScoredPair}; with a one-token prompt the two coincide.
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

    /** Response-only layout: {@code ce_prob} = the scores of the response tokens, response_start_idx = 0. */
    public static ScoredSide ofResponse(double[] responseScores, String responseText) {
        return new ScoredSide(responseScores, 0, responseText);
    }

    /** Number of response tokens these scores cover. */
    @JsonIgnore public int responseTokenCount() { return ceProb.length - responseStartIdx; }

    /** s_t of the response tokens, in order. */
    @JsonIgnore public double[] responseScores() { return Arrays.copyOfRange(ceProb, responseStartIdx, ceProb.length); }

    /** s given to an appended EOS token of the chosen response so the official weight w⁺ = s = 1. */
    public static final double OFFICIAL_CHOSEN_EOS_SCORE = 1.0;
    /** s given to an appended EOS token of the rejected response so the official weight 1 − s = 1. */
    public static final double OFFICIAL_REJECTED_EOS_SCORE = 0.0;

    @Override public boolean equals(Object o) {
        return o instanceof ScoredSide s && responseStartIdx == s.responseStartIdx && text.equals(s.text)
                && Arrays.equals(ceProb, s.ceProb);
    }

    @Override public int hashCode() { return Objects.hash(Arrays.hashCode(ceProb), responseStartIdx, text); }

    @Override public String toString() {
        return "ScoredSide[" + ceProb.length + " scores, response_start_idx=" + responseStartIdx + ", text=" + text + "]";
    }
}

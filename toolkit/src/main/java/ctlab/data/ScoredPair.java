package ctlab.data;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.Objects;

/**
 * One line of {@code 05-score-ce/pairs-scored.jsonl}: a {@link PreferencePair} with CE scores of both of its carried
 * token sequences in the official layout ({@link ScoredSide}), or of their responses only (score-ce with
 * {@code ce.prompt_scores: false}). The scores are joined to tokens by position: the constructor checks that
 * {@code pos} scores exactly {@code prompt_ids ++ chosen_ids} (or exactly {@code chosen_ids}, from
 * response_start_idx 0) and {@code neg} likewise {@code rejected_ids}, both sides in the same layout, so
 * {@link #chosenScores()}{@code [t]} is the score of {@code chosen_ids[t]}.
 */
@JsonPropertyOrder({"pair", "pos", "neg"})
public record ScoredPair(@JsonProperty("pair") PreferencePair pair,
                         @JsonProperty("pos") ScoredSide pos,
                         @JsonProperty("neg") ScoredSide neg) {
    public ScoredPair {
        Objects.requireNonNull(pair, "pair");
        Objects.requireNonNull(pos, "pos");
        Objects.requireNonNull(neg, "neg");
        int prompt = pair.promptIds().length;
        boolean posFull = checkCovers(pos, prompt, pair.chosenIds().length, "pos");
        boolean negFull = checkCovers(neg, prompt, pair.rejectedIds().length, "neg");
        if (posFull != negFull && prompt > 1)
            throw new IllegalArgumentException("pos.ce_prob " + (posFull ? "covers" : "leaves out") + " the prompt positions but neg.ce_prob "
                    + (negFull ? "covers" : "leaves out") + " them: both sides must use the same layout");
    }

    /** @return whether {@code s} is in the official (prompt + response) layout; else it is response-only */
    private static boolean checkCovers(ScoredSide s, int prompt, int response, String side) {
        if (s.responseStartIdx() == prompt - 1 && s.ceProb().length == prompt + response - 1) return true;
        if (s.responseStartIdx() == 0 && s.ceProb().length == response) return false;
        throw new IllegalArgumentException(side + ".ce_prob: " + s.ceProb().length + " scores from response_start_idx "
                + s.responseStartIdx() + " but the pair has " + prompt + " prompt + " + response + " response ids (expected "
                + (prompt + response - 1) + " from " + (prompt - 1) + ", or " + response + " from 0 without prompt scores)");
    }

    /**
     * Whether the scores cover the prompt positions (the official layout, which the official trainer needs); false for
     * the response-only layout. With a one-token prompt the two layouts are the same and this is true.
     */
    @JsonIgnore public boolean hasPromptScores() {
        int prompt = pair.promptIds().length;
        return pos.responseStartIdx() == prompt - 1 && pos.ceProb().length == prompt + pair.chosenIds().length - 1;
    }

    @JsonIgnore public String pairId() { return pair.pairId(); }
    @JsonIgnore public String problemId() { return pair.problemId(); }
    @JsonIgnore public String prompt() { return pair.prompt(); }
    @JsonIgnore public String chosen() { return pair.chosen(); }
    @JsonIgnore public String rejected() { return pair.rejected(); }
    @JsonIgnore public String reference() { return pair.reference(); }

    /** s of {@code chosen_ids[t]}, t = 0.. (position-aligned by construction). */
    @JsonIgnore public double[] chosenScores() { return pos.responseScores(); }

    /** s of {@code rejected_ids[t]}, t = 0.. (position-aligned by construction). */
    @JsonIgnore public double[] rejectedScores() { return neg.responseScores(); }
}

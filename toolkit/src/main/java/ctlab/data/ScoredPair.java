package ctlab.data;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.Objects;

/**
 * One line of {@code 05-score-ce/pairs-scored.jsonl}: a {@link PreferencePair} with CE scores of both of its carried
 * token sequences in the official layout ({@link ScoredSide}). The scores are joined to tokens by position: the
 * constructor checks that {@code pos} scores exactly {@code prompt_ids ++ chosen_ids} and {@code neg}
 * {@code prompt_ids ++ rejected_ids}, so {@link #chosenScores()}{@code [t]} is the score of {@code chosen_ids[t]}.
 */
@JsonPropertyOrder({"pair", "pos", "neg"})
public record ScoredPair(@JsonProperty("pair") PreferencePair pair,
                         @JsonProperty("pos") ScoredSide pos,
                         @JsonProperty("neg") ScoredSide neg) {
    public ScoredPair {
        Objects.requireNonNull(pair, "pair");
        Objects.requireNonNull(pos, "pos");
        Objects.requireNonNull(neg, "neg");
        checkCovers(pos, pair.promptIds().length, pair.chosenIds().length, "pos");
        checkCovers(neg, pair.promptIds().length, pair.rejectedIds().length, "neg");
    }

    private static void checkCovers(ScoredSide s, int prompt, int response, String side) {
        if (s.responseStartIdx() != prompt - 1 || s.ceProb().length != prompt + response - 1)
            throw new IllegalArgumentException(side + ": scores " + s.ceProb().length + " positions from "
                    + s.responseStartIdx() + " but the pair has " + prompt + " prompt + " + response + " response ids");
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

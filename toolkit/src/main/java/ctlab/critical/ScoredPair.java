package ctlab.critical;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Objects;

/**
 * A DPO pair with CE scores on both responses: one record of ctlab's pairs-scored.jsonl and one entry of the
 * official CE file ({@link OfficialCeJson}).
 *
 * @param problemId stable id of the problem (null when imported from the official file, which has none)
 * @param prompt    the prompt text
 * @param chosen    the chosen (correct) response text
 * @param rejected  the rejected (incorrect) response text
 * @param pos       scores of prompt + chosen
 * @param neg       scores of prompt + rejected
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ScoredPair(@JsonProperty("problem_id") String problemId,
                         @JsonProperty("prompt") String prompt,
                         @JsonProperty("chosen") String chosen,
                         @JsonProperty("rejected") String rejected,
                         @JsonProperty("pos") ScoredSide pos,
                         @JsonProperty("neg") ScoredSide neg) {
    public ScoredPair {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(chosen, "chosen");
        Objects.requireNonNull(rejected, "rejected");
        Objects.requireNonNull(pos, "pos");
        Objects.requireNonNull(neg, "neg");
    }
}

package ctlab.data;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.Objects;

/**
 * One line of {@code 02-select/pairs.jsonl}: a DPO pair of one problem, the i-th most frequent correct answer's
 * sample (chosen) against the i-th most frequent incorrect one's (rejected). {@code pair_id} is
 * {@code <problem_id>/<i>}. The ids are the sampled ones ({@link ProblemSamples}): CE scoring, training and rollout
 * use {@code prompt_ids ++ chosen_ids} and {@code prompt_ids ++ rejected_ids}; the texts are for people.
 */
@JsonPropertyOrder({"pair_id", "problem_id", "prompt", "chosen", "rejected", "chosen_answer", "rejected_answer",
        "reference", "chosen_sample_id", "rejected_sample_id", "prompt_ids", "chosen_ids", "rejected_ids", "rejected_planted"})
public record PreferencePair(@JsonProperty("pair_id") String pairId,
                             @JsonProperty("problem_id") String problemId,
                             @JsonProperty("prompt") String prompt,
                             @JsonProperty("chosen") String chosen,
                             @JsonProperty("rejected") String rejected,
                             @JsonProperty("chosen_answer") String chosenAnswer,
                             @JsonProperty("rejected_answer") String rejectedAnswer,
                             @JsonProperty("reference") String reference,
                             @JsonProperty("chosen_sample_id") String chosenSampleId,
                             @JsonProperty("rejected_sample_id") String rejectedSampleId,
                             @JsonProperty("prompt_ids") int[] promptIds,
                             @JsonProperty("chosen_ids") int[] chosenIds,
                             @JsonProperty("rejected_ids") int[] rejectedIds,
                             @JsonProperty("rejected_planted") @JsonInclude(JsonInclude.Include.NON_NULL)
                             Planted rejectedPlanted) {
    public PreferencePair {
        Objects.requireNonNull(pairId, "pair_id");
        Objects.requireNonNull(problemId, "problem_id");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(chosen, "chosen");
        Objects.requireNonNull(rejected, "rejected");
        Objects.requireNonNull(reference, "reference");
        promptIds = Ids.check(promptIds, "prompt_ids", false);
        chosenIds = Ids.check(chosenIds, "chosen_ids", true);
        rejectedIds = Ids.check(rejectedIds, "rejected_ids", true);
    }

    /** A pair without ground truth (a task without planted traps). */
    public PreferencePair(String pairId, String problemId, String prompt, String chosen, String rejected,
                          String chosenAnswer, String rejectedAnswer, String reference, String chosenSampleId,
                          String rejectedSampleId, int[] promptIds, int[] chosenIds, int[] rejectedIds) {
        this(pairId, problemId, prompt, chosen, rejected, chosenAnswer, rejectedAnswer, reference, chosenSampleId,
                rejectedSampleId, promptIds, chosenIds, rejectedIds, null);
    }

    /** prompt | chosen response ids (no EOS). */
    public PromptResponse chosenSequence() { return new PromptResponse(promptIds, chosenIds); }

    /** prompt | rejected response ids (no EOS). */
    public PromptResponse rejectedSequence() { return new PromptResponse(promptIds, rejectedIds); }

    /** Same pair, same ids: what a resumed stage checks before keeping an earlier record. */
    public boolean sameIds(PreferencePair o) {
        return pairId.equals(o.pairId) && java.util.Arrays.equals(promptIds, o.promptIds)
                && java.util.Arrays.equals(chosenIds, o.chosenIds) && java.util.Arrays.equals(rejectedIds, o.rejectedIds);
    }
}

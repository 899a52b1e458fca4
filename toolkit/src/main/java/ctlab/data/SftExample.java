package ctlab.data;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.Objects;

/**
 * One line of {@code 02-select/sft-pos.jsonl} or {@code sft-neg.jsonl}: a selected sample as an SFT example, with the
 * sampled prompt and response ids ({@link ProblemSamples}); trainers use {@code prompt_ids ++ response_ids ++ EOS}.
 */
@JsonPropertyOrder({"problem_id", "sample_id", "prompt", "response", "answer", "correct", "prompt_ids", "response_ids"})
public record SftExample(@JsonProperty("problem_id") String problemId,
                         @JsonProperty("sample_id") String sampleId,
                         @JsonProperty("prompt") String prompt,
                         @JsonProperty("response") String response,
                         @JsonProperty("answer") String answer,
                         @JsonProperty("correct") boolean correct,
                         @JsonProperty("prompt_ids") int[] promptIds,
                         @JsonProperty("response_ids") int[] responseIds) {
    public SftExample {
        Objects.requireNonNull(problemId, "problem_id");
        Objects.requireNonNull(sampleId, "sample_id");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(response, "response");
        promptIds = Ids.check(promptIds, "prompt_ids", false);
        responseIds = Ids.check(responseIds, "response_ids", true);
    }

    /** The carried ids as the trainer's prompt | response split (no EOS yet). */
    public PromptResponse ids() { return new PromptResponse(promptIds, responseIds); }
}

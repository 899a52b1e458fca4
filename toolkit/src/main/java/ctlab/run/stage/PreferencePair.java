package ctlab.run.stage;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One line of {@code 02-select/pairs.jsonl}: a DPO pair of one problem, the i-th most frequent correct answer's
 * sample (chosen) against the i-th most frequent incorrect one's (rejected). {@code pair_id} is
 * {@code <problem_id>/<i>}. Trainers tokenize {@code prompt} and each response apart and concatenate the ids.
 */
@JsonPropertyOrder({"pair_id", "problem_id", "prompt", "chosen", "rejected", "chosen_answer", "rejected_answer",
        "reference", "chosen_sample_id", "rejected_sample_id"})
public record PreferencePair(@JsonProperty("pair_id") String pairId,
                             @JsonProperty("problem_id") String problemId,
                             @JsonProperty("prompt") String prompt,
                             @JsonProperty("chosen") String chosen,
                             @JsonProperty("rejected") String rejected,
                             @JsonProperty("chosen_answer") String chosenAnswer,
                             @JsonProperty("rejected_answer") String rejectedAnswer,
                             @JsonProperty("reference") String reference,
                             @JsonProperty("chosen_sample_id") String chosenSampleId,
                             @JsonProperty("rejected_sample_id") String rejectedSampleId) {
    public PreferencePair {
        Objects.requireNonNull(pairId, "pair_id");
        Objects.requireNonNull(problemId, "problem_id");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(chosen, "chosen");
        Objects.requireNonNull(rejected, "rejected");
    }

    /** Reads a pairs file strictly; errors name file and line. */
    public static List<PreferencePair> read(Path file) {
        List<PreferencePair> out = new ArrayList<>();
        for (Jsonl.Line line : Jsonl.read(file)) {
            try {
                out.add(Jsonl.MAPPER.treeToValue(line.json(), PreferencePair.class));
            } catch (JsonProcessingException | RuntimeException e) {
                throw new CtlabException(line.where() + ": not a preference pair (" + ProblemSamples.rootMessage(e) + ")");
            }
        }
        return out;
    }
}

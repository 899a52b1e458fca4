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
 * One line of {@code 02-select/sft-pos.jsonl} or {@code sft-neg.jsonl}: a selected sample as an SFT example.
 * Trainers tokenize {@code prompt} and {@code response} apart and concatenate the ids.
 */
@JsonPropertyOrder({"problem_id", "sample_id", "prompt", "response", "answer", "correct"})
public record SftExample(@JsonProperty("problem_id") String problemId,
                         @JsonProperty("sample_id") String sampleId,
                         @JsonProperty("prompt") String prompt,
                         @JsonProperty("response") String response,
                         @JsonProperty("answer") String answer,
                         @JsonProperty("correct") boolean correct) {
    public SftExample {
        Objects.requireNonNull(problemId, "problem_id");
        Objects.requireNonNull(sampleId, "sample_id");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(response, "response");
    }

    /** Reads an SFT file strictly; errors name file and line. */
    public static List<SftExample> read(Path file) {
        List<SftExample> out = new ArrayList<>();
        for (Jsonl.Line line : Jsonl.read(file)) {
            try {
                out.add(Jsonl.MAPPER.treeToValue(line.json(), SftExample.class));
            } catch (JsonProcessingException | RuntimeException e) {
                throw new CtlabException(line.where() + ": not an SFT example (" + ProblemSamples.rootMessage(e) + ")");
            }
        }
        return out;
    }
}

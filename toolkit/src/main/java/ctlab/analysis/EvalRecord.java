package ctlab.analysis;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One per-problem outcome of {@code NN-eval/eval-<method>.jsonl} as far as the analysis reads it (the eval
 * stage may write more fields; they are ignored).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record EvalRecord(@JsonProperty("problem_id") String problemId,
                         @JsonProperty("correct") boolean correct,
                         @JsonProperty("extracted") String extracted,
                         @JsonProperty("response") String response) {
    public EvalRecord {
        if (problemId == null || problemId.isEmpty()) throw new IllegalArgumentException("missing field 'problem_id'");
    }
}

package ctlab.data;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.Objects;

/**
 * One line of {@code 08-eval/eval-<method>.jsonl}: a policy's greedy answer to one test problem, graded; and when
 * pass@k is configured, how many of {@code pass_n} temperature samples were correct ({@code pass_n} 0 otherwise);
 * {@code trap}: the problem's planted-trap family where the task has one ({@code ablate --split-by trap}), else absent.
 */
@JsonPropertyOrder({"problem_id", "method", "correct", "extracted", "reference", "response", "num_tokens",
        "finish_reason", "pass_n", "pass_correct", "trap"})
public record EvalOutcome(@JsonProperty("problem_id") String problemId,
                          @JsonProperty("method") String method,
                          @JsonProperty("correct") boolean correct,
                          @JsonProperty("extracted") String extracted,
                          @JsonProperty("reference") String reference,
                          @JsonProperty("response") String response,
                          @JsonProperty("num_tokens") int numTokens,
                          @JsonProperty("finish_reason") String finishReason,
                          @JsonProperty("pass_n") int passN,
                          @JsonProperty("pass_correct") int passCorrect,
                          @JsonProperty("trap") @JsonInclude(JsonInclude.Include.NON_NULL) String trap) {
    public EvalOutcome {
        Objects.requireNonNull(problemId, "problem_id");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(response, "response");
        if (passCorrect < 0 || passCorrect > passN) throw new IllegalArgumentException("pass_correct " + passCorrect + " not in [0, " + passN + "]");
    }

    /** An outcome of a problem without a planted trap. */
    public EvalOutcome(String problemId, String method, boolean correct, String extracted, String reference, String response,
                       int numTokens, String finishReason, int passN, int passCorrect) {
        this(problemId, method, correct, extracted, reference, response, numTokens, finishReason, passN, passCorrect, null);
    }
}

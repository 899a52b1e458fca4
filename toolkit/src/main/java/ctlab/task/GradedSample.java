package ctlab.task;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Objects;

/**
 * One sampled response after grading: which problem and sample it is, the response text, the final answer the
 * extractor found (null when none could be extracted; such samples take no part in selection) and whether that
 * answer is correct. JSON fields: {@code problem_id}, {@code sample_id}, {@code response}, {@code answer},
 * {@code correct}.
 */
public record GradedSample(@JsonProperty("problem_id") String problemId,
                           @JsonProperty("sample_id") String sampleId,
                           @JsonProperty("response") String response,
                           @JsonProperty("answer") String answer,
                           @JsonProperty("correct") boolean correct) {

    public GradedSample {
        Objects.requireNonNull(problemId, "problem_id");
        Objects.requireNonNull(sampleId, "sample_id");
        Objects.requireNonNull(response, "response");
        if (problemId.isBlank()) throw new IllegalArgumentException("problem_id is blank");
        if (sampleId.isBlank()) throw new IllegalArgumentException("sample_id is blank");
        if (answer != null && answer.isEmpty()) answer = null; // the official code's "" = no answer
    }

    /** True when an answer was extracted, i.e. the sample can be selected. */
    public boolean hasAnswer() { return answer != null; }
}

package ctlab.task;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One reasoning problem: a stable id, the question text, the reference final answer (as the data set
 * states it, e.g. {@code "18"} or {@code "\\frac{14}{3}"}), the reference solution when the data set has one
 * (GSM8K rationale, MATH solution; may be null), and free-form metadata such as {@code subject},
 * {@code level}, {@code unique_id}, {@code split}.
 */
public record Problem(String id, String question, String answer, String solution, Map<String, Object> metadata) {
    public Problem {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(question, "question");
        Objects.requireNonNull(answer, "answer");
        if (id.isBlank()) throw new IllegalArgumentException("problem id is blank");
        metadata = metadata == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    public Problem(String id, String question, String answer) { this(id, question, answer, null, Map.of()); }

    /** MATH subject (e.g. "Algebra"), or null when the data set has none. */
    public String subject() { return (String) metadata.get("subject"); }

    /** MATH difficulty level 1–5, or null when the data set has none. */
    public Integer level() { return (Integer) metadata.get("level"); }
}

package ctlab.task;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.io.Progress;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Batch grading behind {@code ctlab grade}: each input line is {@code {"id", "reference", "response"}}
 * (extraction applies) or {@code {"id", "reference", "prediction"}} (already extracted; JSON null means no
 * answer). Each output line is {@code {"id", "extracted", "equal"}} with the id copied as is (any JSON type).
 * A malformed line is reported through {@code onBadLine} as {@code file:line: reason} and skipped; the
 * others are graded. The output is written atomically, once, at the end. A file that is not UTF-8, is
 * missing or holds no records is a {@link CtlabException} and nothing is written.
 */
public final class GradeBatch {
    /** Counts for the summary line and the exit code. */
    public record Summary(int graded, int equal, int badLines) {
        public double accuracy() { return graded == 0 ? Double.NaN : equal / (double) graded; }
    }

    private GradeBatch() {}

    public static Summary run(Task task, Path input, Path output, Consumer<String> onBadLine) {
        List<Jsonl.Line> lines = new ArrayList<>();
        int[] bad = {0};
        Jsonl.forEach(input, lines::add, b -> { bad[0]++; onBadLine.accept(b.where() + ": " + b.message()); });
        if (lines.isEmpty() && bad[0] == 0) throw new CtlabException(input + ": empty file, no records to grade");
        List<Map<String, Object>> out = new ArrayList<>(lines.size());
        int equal = 0;
        try (Progress progress = Progress.start("grade " + task.name(), lines.size())) {
            for (Jsonl.Line line : lines) {
                try {
                    Map<String, Object> record = gradeLine(task, line);
                    if ((Boolean) record.get("equal")) equal++;
                    out.add(record);
                } catch (CtlabException e) {
                    bad[0]++;
                    onBadLine.accept(e.getMessage());
                }
                progress.step(equal + " equal");
            }
        }
        Jsonl.writeAll(output, out);
        return new Summary(out.size(), equal, bad[0]);
    }

    private static Map<String, Object> gradeLine(Task task, Jsonl.Line line) {
        JsonNode json = line.json();
        JsonNode id = json.get("id");
        if (id == null) throw new CtlabException(line.where() + ": missing field 'id'");
        String reference = scalarText(line, "reference");
        boolean hasResponse = json.has("response"), hasPrediction = json.has("prediction");
        if (hasResponse == hasPrediction) {
            throw new CtlabException(line.where() + (hasResponse
                    ? ": has both 'response' and 'prediction'; give one"
                    : ": missing field 'response' (or 'prediction')"));
        }
        Grade grade;
        if (hasResponse) {
            grade = Grader.grade(task, reference, line.text("response"));
        } else {
            JsonNode p = json.get("prediction");
            grade = p.isNull() ? Grade.NO_ANSWER : Grader.gradePrediction(task, reference, scalarText(line, "prediction"));
        }
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("id", id);
        record.put("extracted", grade.extracted());
        record.put("equal", grade.equal());
        return record;
    }

    /** A string field; a JSON number is accepted as its text (GSM8K references are often numbers). */
    private static String scalarText(Jsonl.Line line, String field) {
        JsonNode v = line.json().get(field);
        if (v != null && v.isNumber()) return v.asText();
        return line.text(field);
    }
}

package ctlab.task;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Strict loaders for the task data files (GSM8K and MATH JSON Lines). Every error is a
 * {@link CtlabException} naming file, line and field; an empty file is an error, not an empty task.
 */
final class ProblemFiles {
    private static final Pattern GSM8K_NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?");
    private static final Pattern LEVEL_TEXT = Pattern.compile("Level (\\d+)");

    private ProblemFiles() {}

    /** GSM8K: {@code question}, {@code answer} = rationale ending in {@code "\n#### N"} (N may have commas). */
    static List<Problem> gsm8k(Path file) {
        List<Jsonl.Line> lines = nonEmpty(file);
        String split = stem(file);
        List<Problem> out = new ArrayList<>(lines.size());
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < lines.size(); i++) {
            Jsonl.Line line = lines.get(i);
            String question = line.text("question");
            String rationale = line.text("answer");
            int mark = rationale.lastIndexOf("####");
            if (mark < 0) throw new CtlabException(line.where() + ": field 'answer' has no '#### <final answer>' line");
            String finalAnswer = rationale.substring(mark + 4).strip().replace(",", "");
            if (!GSM8K_NUMBER.matcher(finalAnswer).matches()) {
                throw new CtlabException(line.where() + ": field 'answer': final answer after '####' is not a number: '"
                        + rationale.substring(mark + 4).strip() + "'");
            }
            String id = optionalId(line, "gsm8k/" + split + "/" + i);
            if (!ids.add(id)) throw new CtlabException(line.where() + ": duplicate id '" + id + "'");
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("split", split);
            meta.put("index", i);
            out.add(new Problem(id, question, finalAnswer, rationale, meta));
        }
        return out;
    }

    /** MATH / MATH500: problem, solution, answer, subject, level (1–5), unique_id. */
    static List<Problem> math(Path file) {
        List<Jsonl.Line> lines = nonEmpty(file);
        List<Problem> out = new ArrayList<>(lines.size());
        Set<String> ids = new HashSet<>();
        for (Jsonl.Line line : lines) {
            String question = line.text("problem");
            String solution = line.text("solution");
            String answer = line.text("answer");
            String subject = line.text("subject");
            int level = level(line);
            String uniqueId = line.text("unique_id");
            if (uniqueId.isBlank()) throw new CtlabException(line.where() + ": field 'unique_id' is empty");
            if (!ids.add(uniqueId)) throw new CtlabException(line.where() + ": field 'unique_id': duplicate '" + uniqueId + "'");
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("subject", subject);
            meta.put("level", level);
            meta.put("unique_id", uniqueId);
            out.add(new Problem(uniqueId, question, answer, solution, meta));
        }
        return out;
    }

    /** JSON integer 1–5; the original MATH release's {@code "Level 3"} strings are accepted too. */
    private static int level(Jsonl.Line line) {
        JsonNode v = line.json().get("level");
        if (v == null || v.isNull()) throw new CtlabException(line.where() + ": missing field 'level'");
        int level;
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            level = v.intValue();
        } else if (v.isTextual() && LEVEL_TEXT.matcher(v.asText()).matches()) {
            level = Integer.parseInt(v.asText().substring(6));
        } else {
            throw new CtlabException(line.where() + ": field 'level' must be an integer 1-5, got " + v);
        }
        if (level < 1 || level > 5) throw new CtlabException(line.where() + ": field 'level' must be 1-5, got " + level);
        return level;
    }

    private static String optionalId(Jsonl.Line line, String fallback) {
        JsonNode v = line.json().get("id");
        if (v == null || v.isNull()) return fallback;
        if (v.isTextual() || v.isIntegralNumber()) return v.asText();
        throw new CtlabException(line.where() + ": field 'id' must be a string or integer");
    }

    private static List<Jsonl.Line> nonEmpty(Path file) {
        List<Jsonl.Line> lines = Jsonl.read(file);
        if (lines.isEmpty()) throw new CtlabException(file + ": empty file, no records");
        return lines;
    }

    private static String stem(Path file) {
        String name = file.getFileName().toString();
        int dot = name.indexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}

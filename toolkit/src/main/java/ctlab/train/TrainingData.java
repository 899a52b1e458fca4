package ctlab.train;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The select stage's training files as the trainers read them. Each line needs a {@code prompt} (the exact prompt
 * text the sampler used) and the response text(s); {@code problem_id} is kept for provenance. A response field may
 * be a string or a graded-sample object with a {@code response} field. Other fields are ignored. Anything missing is
 * a CtlabException naming the file, line and field.
 */
public final class TrainingData {
    private TrainingData() {}

    /** One SFT example: response tokens are trained on, prompt tokens are context only. */
    public record SftExample(String problemId, String prompt, String response) {}

    /** One preference pair (chosen = correct, rejected = incorrect) for the same prompt. */
    public record PreferencePair(String problemId, String prompt, String chosen, String rejected) {}

    /** Reads {@code sft-pos.jsonl} / {@code sft-neg.jsonl}: {@code prompt} + {@code response} (or {@code completion}). */
    public static List<SftExample> readSft(Path file) {
        List<SftExample> out = new ArrayList<>();
        for (Jsonl.Line line : Jsonl.read(file)) {
            String field = line.json().has("response") ? "response" : line.json().has("completion") ? "completion" : "response";
            out.add(new SftExample(optionalText(line, "problem_id"), line.text("prompt"), responseText(line, field)));
        }
        if (out.isEmpty()) throw new CtlabException(file + ": no SFT examples (the file is empty)");
        return out;
    }

    /** Reads {@code pairs.jsonl}: {@code prompt}, {@code chosen}, {@code rejected}. */
    public static List<PreferencePair> readPairs(Path file) {
        List<PreferencePair> out = new ArrayList<>();
        for (Jsonl.Line line : Jsonl.read(file)) {
            out.add(new PreferencePair(optionalText(line, "problem_id"), line.text("prompt"),
                    responseText(line, "chosen"), responseText(line, "rejected")));
        }
        if (out.isEmpty()) throw new CtlabException(file + ": no preference pairs (the file is empty)");
        return out;
    }

    private static String responseText(Jsonl.Line line, String field) {
        JsonNode v = line.json().get(field);
        if (v != null && v.isObject()) {
            JsonNode r = v.get("response");
            if (r == null || !r.isTextual())
                throw new CtlabException(line.where() + ": field '" + field + ".response' must be a string");
            return r.asText();
        }
        return line.text(field);
    }

    private static String optionalText(Jsonl.Line line, String field) {
        JsonNode v = line.json().get(field);
        if (v == null || v.isNull()) return null;
        if (!(v.isTextual() || v.isIntegralNumber()))
            throw new CtlabException(line.where() + ": field '" + field + "' must be a string or integer");
        return v.asText();
    }
}

package ctlab.task.organism;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Organism splits on disk: {@code train.jsonl}, {@code validation.jsonl}, {@code test.jsonl} (one problem per
 * line: id, question, solution, answer, steps, ops, canonical) and {@code organism.json} (seed, difficulty,
 * counts — enough to regenerate them).
 */
public final class OrganismData {
    public static final String MANIFEST = "organism.json";

    private OrganismData() {}

    /** Generates the three splits and writes them atomically (each file temp + rename, manifest last). */
    public static Map<Split, List<OrganismProblem>> write(Path dir, ProblemGenerator generator,
                                                           Map<Split, Integer> counts) {
        Map<Split, List<OrganismProblem>> splits = new EnumMap<>(Split.class);
        for (Split s : Split.values()) splits.put(s, generator.split(s, counts.getOrDefault(s, 0)));
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("creating " + dir, e);
        }
        for (Split s : Split.values()) {
            List<ObjectNode> rows = new ArrayList<>();
            for (OrganismProblem p : splits.get(s)) rows.add(toJson(p));
            Jsonl.writeAll(dir.resolve(s.fileName()), rows);
        }
        ObjectNode manifest = Jsonl.MAPPER.createObjectNode();
        manifest.put("generator", "ctlab.task.organism.ProblemGenerator");
        manifest.put("seed", generator.seed());
        manifest.set("difficulty", Jsonl.MAPPER.valueToTree(generator.difficulty()));
        ObjectNode c = manifest.putObject("counts");
        for (Split s : Split.values()) c.put(s.name().toLowerCase(), splits.get(s).size());
        try {
            AtomicFiles.writeString(dir.resolve(MANIFEST),
                    Jsonl.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(manifest) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return splits;
    }

    public static ObjectNode toJson(OrganismProblem p) {
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        o.put("id", p.id());
        o.put("split", p.split().name().toLowerCase());
        o.put("question", p.question());
        o.put("solution", p.solution());
        o.put("answer", Long.toString(p.answer()));
        o.put("steps", p.steps());
        ArrayNode ops = o.putArray("ops");
        p.ops().forEach(ops::add);
        o.put("canonical", p.canonical());
        return o;
    }

    /** Reads one split file; every problem must be well formed and hash to the split it claims. */
    public static List<OrganismProblem> read(Path file) {
        List<OrganismProblem> out = new ArrayList<>();
        for (Jsonl.Line line : Jsonl.read(file)) {
            JsonNode j = line.json();
            String where = line.where();
            Split split = Split.parse(text(j, "split", where));
            String canonical = text(j, "canonical", where);
            if (Split.of(canonical) != split)
                throw new CtlabException(where + ": field 'split' says " + split.name().toLowerCase()
                        + " but the canonical form belongs to " + Split.of(canonical).name().toLowerCase());
            long answer;
            try {
                answer = Long.parseLong(text(j, "answer", where));
            } catch (NumberFormatException e) {
                throw new CtlabException(where + ": field 'answer' is not an integer");
            }
            JsonNode steps = j.get("steps");
            if (steps == null || !steps.canConvertToInt())
                throw new CtlabException(where + ": missing integer field 'steps'");
            JsonNode opsNode = j.get("ops");
            if (opsNode == null || !opsNode.isArray()) throw new CtlabException(where + ": missing array field 'ops'");
            List<String> ops = new ArrayList<>();
            opsNode.forEach(n -> ops.add(n.asText()));
            out.add(new OrganismProblem(text(j, "id", where), split, text(j, "question", where),
                    text(j, "solution", where), answer, steps.asInt(), ops, canonical));
        }
        return out;
    }

    private static String text(JsonNode j, String field, String where) {
        JsonNode n = j.get(field);
        if (n == null || !n.isTextual()) throw new CtlabException(where + ": missing string field '" + field + "'");
        return n.asText();
    }
}

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
 * line: id, question, solution, answer, steps, ops, canonical; organism v2 adds {@code trap}, null or the
 * ground truth of {@link Trap}) and {@code organism.json} (seed, difficulty, traps, counts — enough to
 * regenerate them).
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
        if (generator.traps() != null) manifest.set("traps", Jsonl.MAPPER.valueToTree(generator.traps()));
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
        if (p.trap() != null) {   // v1 lines stay byte-for-byte as before
            Trap t = p.trap();
            ObjectNode j = o.putObject("trap");
            j.put("family", t.family());
            j.put("context", t.context());
            j.put("p", t.p());
            j.put("step", t.step());
            j.put("position", t.position());
            j.put("correct_op", t.correctOp());
            j.put("trap_op", t.trapOp());
            j.put("trap_answer", Long.toString(t.trapAnswer()));
            if (t.pretrainSolution() != null) j.put("pretrain_solution", t.pretrainSolution());
            else j.putNull("pretrain_solution");
        }
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
                    text(j, "solution", where), answer, steps.asInt(), ops, canonical, trap(j.get("trap"), where)));
        }
        return out;
    }

    /** The optional {@code trap} object; absent or null = no trap. */
    private static Trap trap(JsonNode t, String where) {
        if (t == null || t.isNull()) return null;
        if (!t.isObject()) throw new CtlabException(where + ": field 'trap' must be an object or null");
        String w = where + ": trap";
        String family = text(t, "family", w);
        try {
            Traps.family(family);
        } catch (CtlabException e) {
            throw new CtlabException(w + ": unknown family '" + family + "'");
        }
        JsonNode pn = t.get("p"), step = t.get("step"), pos = t.get("position"), ps = t.get("pretrain_solution");
        if (pn == null || !pn.isNumber()) throw new CtlabException(w + ": missing number field 'p'");
        if (step == null || !step.canConvertToInt() || step.asInt() < 0)
            throw new CtlabException(w + ": missing non-negative integer field 'step'");
        if (pos == null || !pos.canConvertToInt() || pos.asInt() < 0)
            throw new CtlabException(w + ": missing non-negative integer field 'position'");
        if (ps != null && !ps.isNull() && !ps.isTextual())
            throw new CtlabException(w + ": field 'pretrain_solution' must be a string or null");
        long trapAnswer;
        try {
            trapAnswer = Long.parseLong(text(t, "trap_answer", w));
        } catch (NumberFormatException e) {
            throw new CtlabException(w + ": field 'trap_answer' is not an integer");
        }
        return new Trap(family, text(t, "context", w), pn.asDouble(), step.asInt(), pos.asInt(),
                text(t, "correct_op", w), text(t, "trap_op", w), trapAnswer,
                ps == null || ps.isNull() ? null : ps.asText());
    }

    private static String text(JsonNode j, String field, String where) {
        JsonNode n = j.get(field);
        if (n == null || !n.isTextual()) throw new CtlabException(where + ": missing string field '" + field + "'");
        return n.asText();
    }
}

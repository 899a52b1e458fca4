package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.stats.Accuracy;
import ctlab.stats.PairedComparison;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The paper's Table 1 analogue from a finished run: greedy accuracy ± 95% Wilson interval per method, and paired
 * p-values (exact McNemar) against the base model and against DPO, from {@code 08-eval/eval-<method>.jsonl}
 * (per-problem records with {@code problem_id} and {@code correct}; method {@code base} is the untrained model).
 */
public final class Ablation {
    private Ablation() {}

    public record Row(String method, Accuracy accuracy, Double pVsBase, Double pVsDpo) {}

    /** Rows for {@code methods} (base first when present), paired on problem ids common to all files. */
    public static List<Row> table(Path evalDir, List<String> methods) {
        Map<String, Map<String, Boolean>> outcomes = new LinkedHashMap<>();
        for (String m : methods) outcomes.put(m, read(evalDir.resolve("eval-" + m + ".jsonl")));
        List<String> common = new ArrayList<>(outcomes.values().iterator().next().keySet());
        for (Map<String, Boolean> o : outcomes.values()) common.retainAll(o.keySet());
        if (common.isEmpty()) throw new CtlabException(evalDir + ": the eval files share no problem ids");
        List<Row> rows = new ArrayList<>();
        for (String m : methods) {
            boolean[] x = vector(outcomes.get(m), common);
            rows.add(new Row(m, Accuracy.of(x), p(outcomes, "base", m, common), p(outcomes, "dpo", m, common)));
        }
        return rows;
    }

    private static Double p(Map<String, Map<String, Boolean>> o, String ref, String m, List<String> ids) {
        if (!o.containsKey(ref) || ref.equals(m)) return null;
        boolean[] a = vector(o.get(m), ids), b = vector(o.get(ref), ids);
        int onlyA = 0, onlyB = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] && !b[i]) onlyA++;
            if (b[i] && !a[i]) onlyB++;
        }
        return PairedComparison.mcnemarExactP(onlyA, onlyB);
    }

    private static boolean[] vector(Map<String, Boolean> o, List<String> ids) {
        boolean[] v = new boolean[ids.size()];
        for (int i = 0; i < v.length; i++) v[i] = o.get(ids.get(i));
        return v;
    }

    private static Map<String, Boolean> read(Path file) {
        Map<String, Boolean> out = new LinkedHashMap<>();
        readEval(file).forEach((id, record) -> out.put(id, record.get("correct").asBoolean()));
        return out;
    }

    /**
     * The one place ablations read {@code eval-<method>.jsonl}: problem id → the whole record (so callers can read
     * problem attributes a task adds, e.g. a trap flag), with {@code correct} checked to be a boolean and ids unique.
     */
    public static Map<String, JsonNode> readEval(Path file) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (Jsonl.Line l : Jsonl.read(file)) {
            var c = l.json().get("correct");
            if (c == null || !c.isBoolean()) throw new CtlabException(l.where() + ": field 'correct' must be true or false");
            if (out.put(l.text("problem_id"), l.json()) != null)
                throw new CtlabException(l.where() + ": duplicate problem_id");
        }
        return out;
    }

    /** The table as Markdown. */
    public static String markdown(List<Row> rows) {
        StringBuilder sb = new StringBuilder("| method | accuracy | 95% CI | n | p vs base | p vs dpo |\n|---|---:|---|---:|---:|---:|\n");
        for (Row r : rows) {
            Accuracy a = r.accuracy();
            sb.append(String.format(Locale.ROOT, "| %s | %.1f%% | [%.1f, %.1f] | %d | %s | %s |%n", r.method(),
                    100 * a.estimate(), 100 * a.lower(), 100 * a.upper(), a.total(), fmt(r.pVsBase()), fmt(r.pVsDpo())));
        }
        return sb.toString();
    }

    private static String fmt(Double p) { return p == null ? "–" : String.format(Locale.ROOT, "%.3g", p); }

    /** Writes {@code ablation.md} into the run directory and returns its text. */
    public static String write(Path runDir, String evalFolder, List<String> methods) {
        String md = markdown(table(runDir.resolve(evalFolder), methods));
        AtomicFiles.writeString(runDir.resolve("ablation.md"), md);
        return md;
    }
}

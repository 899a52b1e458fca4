package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.Version;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.stats.PairedComparison;
import ctlab.stats.SeedMean;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The multi-seed Table 1 analogue of {@code ctlab ablate --seeds ...}: per grid point and method, greedy accuracy
 * averaged over seeds with a 95% t interval over seeds (per-seed values listed), exact McNemar p vs base and vs dpo
 * per seed and pooled over seeds ({@link PairedComparison#pooledMcNemarP}); optionally the same accuracy on each value of
 * a problem attribute ({@code --split-by FIELD}); and each loss's log-likelihood of chosen and rejected responses over
 * training ({@code logps/chosen}, {@code logps/rejected} of {@code 07-train/<loss>/metrics.jsonl}), mean over seeds.
 */
public final class GridAblation {
    private GridAblation() {}

    /** Where one sub-run's files are: its folder, and the test data file its config names (may be null). */
    public record Cell(AblationGrid.SubRun run, Path testData) {}

    /**
     * Reads every sub-run's eval (and train metrics) and returns {@code ablation.json}'s tree.
     *
     * @param config  the resolved config of the grid (before per-sub-run overrides), recorded as is
     * @param splitBy a problem attribute to split accuracy by, or null
     */
    public static ObjectNode aggregate(AblationGrid grid, List<Cell> cells, List<String> methods, String evalFolder,
                                       String trainFolder, String splitBy, JsonNode config) {
        ObjectNode root = Jsonl.MAPPER.createObjectNode();
        root.put("version", Version.get());
        root.set("seeds", tree(grid.seeds()));
        ObjectNode axes = root.putObject("grid");
        grid.axes().forEach(a -> axes.set(a.key(), tree(a.values())));
        root.set("methods", tree(methods));
        root.put("split_by", splitBy);
        root.put("interval", "95% Student-t interval of the mean over seeds");
        root.put("pooled_test", "exact McNemar on discordant pairs summed over seeds (CMH with each (seed, problem) pair a stratum)");
        root.set("config", config);
        ArrayNode points = root.putArray("points");
        for (Map<String, String> point : grid.points()) {
            List<Cell> mine = cells.stream().filter(c -> c.run().point().equals(point)).toList();
            points.add(point(point, mine, methods, evalFolder, trainFolder, splitBy));
        }
        return root;
    }

    private static ObjectNode point(Map<String, String> point, List<Cell> cells, List<String> methods, String evalFolder,
                                    String trainFolder, String splitBy) {
        int seeds = cells.size();
        // per seed: method -> (problem id -> correct), on the problem ids every method's file has
        List<Map<String, Map<String, Boolean>>> outcomes = new ArrayList<>();
        List<Map<String, String>> attributes = new ArrayList<>();
        for (Cell c : cells) {
            Path evalDir = c.run().dir().resolve(evalFolder);
            Map<String, Map<String, JsonNode>> records = new LinkedHashMap<>();
            for (String m : methods) records.put(m, Ablation.readEval(evalDir.resolve("eval-" + m + ".jsonl")));
            LinkedHashSet<String> common = new LinkedHashSet<>(records.get(methods.get(0)).keySet());
            records.values().forEach(r -> common.retainAll(r.keySet()));
            if (common.isEmpty()) throw new CtlabException(evalDir + ": the eval files share no problem ids");
            Map<String, Map<String, Boolean>> o = new LinkedHashMap<>();
            for (String m : methods) {
                Map<String, Boolean> x = new LinkedHashMap<>();
                for (String id : common) x.put(id, records.get(m).get(id).get("correct").asBoolean());
                o.put(m, x);
            }
            outcomes.add(o);
            if (splitBy != null) attributes.add(attributes(splitBy, records.get(methods.get(0)), common, c.testData(), evalDir));
        }
        // --split-by: value -> per seed (null where the seed has no such problem): method -> (problem id -> correct)
        TreeMap<String, List<Map<String, Map<String, Boolean>>>> bySubset = new TreeMap<>();
        for (int s = 0; s < seeds && splitBy != null; s++) {
            for (var id : outcomes.get(s).get(methods.get(0)).keySet()) {
                var perSeed = bySubset.computeIfAbsent(attributes.get(s).get(id), k -> new ArrayList<>(java.util.Collections.nCopies(seeds, null)));
                if (perSeed.get(s) == null) perSeed.set(s, new LinkedHashMap<>());
                for (String m : methods) perSeed.get(s).computeIfAbsent(m, k -> new LinkedHashMap<>()).put(id, outcomes.get(s).get(m).get(id));
            }
        }
        addAnyValue(bySubset, seeds);
        ObjectNode out = Jsonl.MAPPER.createObjectNode();
        out.set("point", tree(point));
        out.set("dirs", tree(cells.stream().map(c -> c.run().label()).toList()));
        ArrayNode rows = out.putArray("methods");
        for (String m : methods) {
            ObjectNode row = rows.addObject();
            row.put("method", m);
            double[] acc = new double[seeds];
            int[] n = new int[seeds];
            for (int s = 0; s < seeds; s++) {
                Map<String, Boolean> x = outcomes.get(s).get(m);
                n[s] = x.size();
                acc[s] = x.values().stream().filter(b -> b).count() / (double) x.size();
            }
            row.set("problems", tree(n));
            row.set("accuracy", mean(SeedMean.of(acc).clippedTo(0, 1)));
            for (String ref : List.of("base", "dpo")) {
                if (!methods.contains(ref) || ref.equals(m)) continue;
                row.set("p_vs_" + ref, paired(outcomes, m, ref));
            }
            if (splitBy != null) {
                ObjectNode subsets = row.putObject("subsets");
                for (var e : bySubset.entrySet()) {
                    // a seed whose problems have none of this value has no accuracy for it (null), not 0
                    double[] subAcc = new double[(int) e.getValue().stream().filter(java.util.Objects::nonNull).count()];
                    ArrayNode perSeed = Jsonl.MAPPER.createArrayNode(), problems = Jsonl.MAPPER.createArrayNode();
                    List<Map<String, Map<String, Boolean>>> present = new ArrayList<>();
                    for (int s = 0; s < seeds; s++) {
                        Map<String, Map<String, Boolean>> o = e.getValue().get(s);
                        if (o == null) {
                            perSeed.addNull();
                            problems.add(0);
                            continue;
                        }
                        Map<String, Boolean> x = o.get(m);
                        double a = x.values().stream().filter(b -> b).count() / (double) x.size();
                        subAcc[present.size()] = a;
                        present.add(o);
                        perSeed.add(a);
                        problems.add(x.size());
                    }
                    ObjectNode sub = mean(SeedMean.of(subAcc).clippedTo(0, 1));
                    sub.set("per_seed", perSeed);
                    sub.set("problems", problems);
                    for (String ref : List.of("base", "dpo")) {
                        if (methods.contains(ref) && !ref.equals(m)) sub.put("pooled_p_vs_" + ref, paired(present, m, ref).get("pooled").asDouble());
                    }
                    subsets.set(e.getKey(), sub);
                }
            }
        }
        out.set("likelihood", likelihood(cells, methods, trainFolder));
        return out;
    }

    /** The subset of problems without the attribute, e.g. organism problems without a trap. */
    static final String NONE = "(none)";
    /** The union of every value's problems when there are several and a {@link #NONE} subset: trap vs no-trap. */
    static final String ANY = "(any)";

    /**
     * With problems lacking the attribute and two or more values (e.g. four trap families), adds {@link #ANY}: all
     * problems that have one, per seed, so the table has "with vs without" beside the per-value rows.
     */
    private static void addAnyValue(TreeMap<String, List<Map<String, Map<String, Boolean>>>> bySubset, int seeds) {
        List<String> values = bySubset.keySet().stream().filter(v -> !v.equals(NONE)).toList();
        if (!bySubset.containsKey(NONE) || values.size() < 2) return;
        List<Map<String, Map<String, Boolean>>> any = new ArrayList<>(java.util.Collections.nCopies(seeds, null));
        for (String v : values) {
            var perSeed = bySubset.get(v);
            for (int s = 0; s < seeds; s++) {
                if (perSeed.get(s) == null) continue;
                if (any.get(s) == null) any.set(s, new LinkedHashMap<>());
                for (var e : perSeed.get(s).entrySet())
                    any.get(s).computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>()).putAll(e.getValue());
            }
        }
        bySubset.put(ANY, any);
    }

    /** problem id -> the attribute as text: from the eval record when it has the field, else from the test data. */
    private static Map<String, String> attributes(String field, Map<String, JsonNode> records, Iterable<String> ids,
                                                  Path testData, Path evalDir) {
        Map<String, String> fromData = new LinkedHashMap<>();
        if (testData != null && Files.isRegularFile(testData)) {
            for (Jsonl.Line l : Jsonl.read(testData)) {
                JsonNode v = l.json().get(field), id = l.json().get("id");
                if (v != null && !v.isNull() && id != null) fromData.put(id.asText(), v.asText());
            }
        }
        Map<String, String> out = new LinkedHashMap<>();
        boolean any = false;
        for (String id : ids) {
            JsonNode v = records.get(id).get(field);
            String value = v != null && !v.isNull() ? v.asText() : fromData.get(id);
            any |= value != null;
            out.put(id, value == null ? NONE : value);
        }
        if (!any) throw new CtlabException("--split-by " + field + ": no record in " + evalDir + " and no line of "
                + (testData == null ? "the test data" : testData.toString()) + " has field '" + field + "'");
        return out;
    }

    private static ObjectNode paired(List<Map<String, Map<String, Boolean>>> outcomes, String m, String ref) {
        int seeds = outcomes.size();
        int[] onlyM = new int[seeds], onlyRef = new int[seeds];
        double[] p = new double[seeds];
        for (int s = 0; s < seeds; s++) {
            Map<String, Boolean> a = outcomes.get(s).get(m), b = outcomes.get(s).get(ref);
            for (var e : a.entrySet()) {
                boolean x = e.getValue(), y = b.get(e.getKey());
                if (x && !y) onlyM[s]++;
                if (y && !x) onlyRef[s]++;
            }
            p[s] = PairedComparison.mcnemarExactP(onlyM[s], onlyRef[s]);
        }
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        o.set("per_seed", tree(p));
        o.set("only_method", tree(onlyM));
        o.set("only_" + ref, tree(onlyRef));
        o.put("pooled", PairedComparison.pooledMcNemarP(onlyM, onlyRef));
        return o;
    }

    private static JsonNode tree(Object value) { return Jsonl.MAPPER.valueToTree(value); }

    private static ObjectNode mean(SeedMean s) {
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        o.put("mean", s.mean());
        if (Double.isNaN(s.lower())) {
            o.putNull("lower");
            o.putNull("upper");
        } else {
            o.put("lower", s.lower());
            o.put("upper", s.upper());
        }
        o.set("per_seed", tree(s.values()));
        return o;
    }

    /** loss -> {series: [{step, chosen, rejected}], mean over the seeds that logged the step}. */
    private static ObjectNode likelihood(List<Cell> cells, List<String> methods, String trainFolder) {
        ObjectNode out = Jsonl.MAPPER.createObjectNode();
        for (String loss : methods) {
            if (loss.equals("base")) continue;
            TreeMap<Integer, double[]> sums = new TreeMap<>();   // step -> {chosen sum, chosen n, rejected sum, rejected n}
            for (Cell c : cells) {
                Path f = c.run().dir().resolve(trainFolder).resolve(loss).resolve("metrics.jsonl");
                if (!Files.isRegularFile(f)) continue;
                for (Jsonl.Line l : Jsonl.read(f)) {
                    JsonNode j = l.json();
                    if (!j.has("step") || !(j.has("logps/chosen") || j.has("logps/rejected"))) continue;
                    double[] s = sums.computeIfAbsent(j.get("step").asInt(), k -> new double[4]);
                    if (j.has("logps/chosen")) { s[0] += j.get("logps/chosen").asDouble(); s[1]++; }
                    if (j.has("logps/rejected")) { s[2] += j.get("logps/rejected").asDouble(); s[3]++; }
                }
            }
            if (sums.isEmpty()) continue;
            ArrayNode series = out.putObject(loss).putArray("series");
            sums.forEach((step, s) -> {
                ObjectNode r = series.addObject();
                r.put("step", step);
                if (s[1] > 0) r.put("chosen", s[0] / s[1]); else r.putNull("chosen");
                if (s[3] > 0) r.put("rejected", s[2] / s[3]); else r.putNull("rejected");
                r.put("seeds", (int) Math.max(s[1], s[3]));
            });
        }
        return out;
    }

    /** The aggregate as Markdown. */
    public static String markdown(ObjectNode agg) {
        StringBuilder sb = new StringBuilder("# Ablation over seeds " + agg.get("seeds") + "\n\n");
        sb.append("Accuracy: mean over seeds, 95% t interval over seeds, per-seed values. p: exact McNemar per seed; "
                + "pooled: exact McNemar on the discordant pairs summed over seeds.\n");
        String split = agg.path("split_by").isNull() ? null : agg.get("split_by").asText();
        for (JsonNode point : agg.get("points")) {
            sb.append("\n## ").append(point.get("point").isEmpty() ? "all runs" : label(point.get("point"))).append("\n\n");
            sb.append("| method | accuracy | 95% CI | per seed | p vs base (per seed) | pooled p vs base | p vs dpo (per seed) | pooled p vs dpo |\n");
            sb.append("|---|---:|---|---|---|---:|---|---:|\n");
            for (JsonNode r : point.get("methods")) {
                JsonNode a = r.get("accuracy");
                sb.append("| ").append(r.get("method").asText()).append(" | ").append(pct(a.get("mean"))).append(" | ")
                        .append(ci(a)).append(" | ").append(pcts(a.get("per_seed"))).append(" | ")
                        .append(ps(r.path("p_vs_base").path("per_seed"))).append(" | ").append(p(r.path("p_vs_base").path("pooled")))
                        .append(" | ").append(ps(r.path("p_vs_dpo").path("per_seed"))).append(" | ")
                        .append(p(r.path("p_vs_dpo").path("pooled"))).append(" |\n");
            }
            if (split != null) {
                sb.append("\nAccuracy by `").append(split).append("` (mean over seeds [95% CI]; problems per seed; seed-pooled exact McNemar p on those problems):\n\n| method |");
                LinkedHashSet<String> values = new LinkedHashSet<>();
                point.get("methods").forEach(r -> r.get("subsets").fieldNames().forEachRemaining(values::add));
                for (String v : values) sb.append(' ').append(split).append('=').append(v).append(" |");
                sb.append("\n|---|").append("---|".repeat(values.size())).append('\n');
                for (JsonNode r : point.get("methods")) {
                    sb.append("| ").append(r.get("method").asText()).append(" |");
                    for (String v : values) {
                        JsonNode s = r.get("subsets").get(v);
                        sb.append(' ').append(s == null ? "–" : pct(s.get("mean")) + " " + ci(s) + "; n " + s.get("problems")
                                + (s.has("pooled_p_vs_base") ? "; pooled p vs base " + p(s.get("pooled_p_vs_base")) : "")
                                + (s.has("pooled_p_vs_dpo") ? ", vs dpo " + p(s.get("pooled_p_vs_dpo")) : "")).append(" |");
                    }
                    sb.append('\n');
                }
            }
            JsonNode lk = point.get("likelihood");
            if (!lk.isEmpty()) {
                sb.append("\nLog-likelihood of chosen and rejected responses during training (logps/chosen, logps/rejected; "
                        + "mean over seeds), first and last logged step:\n\n");
                sb.append("| loss | steps | chosen first | chosen last | rejected first | rejected last |\n|---|---|---:|---:|---:|---:|\n");
                lk.fields().forEachRemaining(e -> {
                    JsonNode s = e.getValue().get("series"), first = s.get(0), last = s.get(s.size() - 1);
                    sb.append("| ").append(e.getKey()).append(" | ").append(first.get("step")).append("–").append(last.get("step"))
                            .append(" | ").append(num(first.get("chosen"))).append(" | ").append(num(last.get("chosen")))
                            .append(" | ").append(num(first.get("rejected"))).append(" | ").append(num(last.get("rejected"))).append(" |\n");
                });
            }
        }
        return sb.toString();
    }

    /** Writes {@code ablation.json} and {@code ablation.md} into the run directory (each atomically); returns the Markdown. */
    public static String write(Path runDir, ObjectNode agg) {
        String md = markdown(agg);
        AtomicFiles.writeString(runDir.resolve("ablation.json"), agg.toPrettyString() + "\n");
        AtomicFiles.writeString(runDir.resolve("ablation.md"), md);
        return md;
    }

    private static String label(JsonNode point) {
        List<String> parts = new ArrayList<>();
        point.fields().forEachRemaining(e -> parts.add(e.getKey() + "=" + e.getValue().asText()));
        return String.join(", ", parts);
    }

    private static String pct(JsonNode v) { return String.format(Locale.ROOT, "%.1f%%", 100 * v.asDouble()); }

    private static String ci(JsonNode a) {
        return a.get("lower").isNull() ? "–" : String.format(Locale.ROOT, "[%.1f, %.1f]", 100 * a.get("lower").asDouble(),
                100 * a.get("upper").asDouble());
    }

    private static String pcts(JsonNode arr) {
        List<String> s = new ArrayList<>();
        arr.forEach(v -> s.add(String.format(Locale.ROOT, "%.1f", 100 * v.asDouble())));
        return String.join(", ", s);
    }

    private static String ps(JsonNode arr) {
        if (arr.isMissingNode()) return "–";
        List<String> s = new ArrayList<>();
        arr.forEach(v -> s.add(p(v)));
        return String.join(", ", s);
    }

    private static String p(JsonNode v) { return v.isMissingNode() || v.isNull() ? "–" : String.format(Locale.ROOT, "%.3g", v.asDouble()); }

    private static String num(JsonNode v) { return v == null || v.isNull() ? "–" : String.format(Locale.ROOT, "%.2f", v.asDouble()); }
}

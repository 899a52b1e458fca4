package ctlab.run.stage;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.analysis.Analyses;
import ctlab.critical.RolloutProbe;
import ctlab.data.EvalOutcome;
import ctlab.io.Jsonl;
import ctlab.run.RunConfig;
import ctlab.stats.SeedMean;
import ctlab.task.Task;
import ctlab.tasks.Tasks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import tech.tablesaw.api.Table;

/**
 * The pieces of {@code ctlab demo} a notebook can call too: the data files of a task that makes its own (the
 * organism's splits, regenerated from the model's recipe), and the plain-text results table of a finished run.
 */
public final class Demo {
    private Demo() {}

    /**
     * The {@code data.train}/{@code data.test} overrides for a config without data files whose task makes its own
     * ({@link Task#prepareData}, e.g. the organism's splits regenerated from the model's recipe) into
     * {@code runDir/data} (train = sample.problems or 1000, test = eval.problems or 500). Empty for any other
     * config. Shared by {@code ctlab demo} and {@code Lab.run}.
     */
    public static List<String> dataOverrides(RunConfig c, Path modelDir, Path runDir) {
        if (c.data().train() != null) return List.of();
        int test = c.eval().problems() > 0 ? c.eval().problems() : 500;
        int train = c.sample().problems() > 0 ? c.sample().problems() : 1000;
        return Tasks.named(c.task()).prepareData(modelDir, runDir.resolve("data"), train, test, false)
                .map(s -> List.of("data.train=" + s.train(), "data.test=" + s.test()))
                .orElse(List.of());
    }

    /** The results of a run as a text table: data, rollout, and accuracy per method with paired tests. */
    public static String resultsTable(Path runDir, RunConfig c) {
        StringBuilder sb = new StringBuilder();
        JsonNode select = lastMetrics(runDir.resolve("02-select/metrics.jsonl"));
        if (select != null) {
            sb.append(String.format(Locale.ROOT, "data: %d problems x %d samples, sample accuracy %.1f%%; %d SFT-positive, "
                            + "%d SFT-negative, %d DPO pairs%n", select.path("problems").asInt(), c.sample().n(),
                    100 * select.path("sample_accuracy").asDouble(), select.path("sft_pos").asInt(),
                    select.path("sft_neg").asInt(), select.path("pairs").asInt()));
        }
        JsonNode ce = lastMetrics(runDir.resolve("05-score-ce/metrics.jsonl"));
        if (ce != null && ce.has("planted")) {
            JsonNode p = ce.path("planted");
            sb.append(String.format(Locale.ROOT, "planted traps: %d rejected responses took the trap; CE finds the planted "
                            + "token: AUROC of 1 - s_t %s, lowest s_t is it %s, within one %s%n", p.path("trajectories").asInt(),
                    num(p.path("pooled_auroc")), pct(p.path("precision_at_1")), pct(p.path("within_one"))));
        }
        JsonNode rollout = readJson(runDir.resolve("06-rollout/" + RolloutStage.SUMMARY));
        if (rollout != null) {
            JsonNode a = rollout.path("agreement").path("paper").path("critical");
            sb.append(String.format(Locale.ROOT, "rollout: %d incorrect trajectories, a critical token found in %d; "
                            + "lowest CE score is the critical token: exact %s, within one %s; AUROC of 1 - s_t for the critical "
                            + "token %s (for every token whose rate drops: %s); %d tokens generated in %.0f s%n", rollout.path("trajectories").asInt(),
                    rollout.path("with_critical").asInt(), pct(a.path("exact_rate")), pct(a.path("within_one_rate")),
                    num(a.path("pooled_auroc")), num(rollout.path("agreement").path("paper").path("drop").path("pooled_auroc")),
                    rollout.path("tokens_generated").asLong(), rollout.path("seconds").asDouble()));
            sb.append(criticalTokensExist(runDir.resolve("06-rollout/rollout.jsonl")));
            JsonNode p = rollout.path("planted");
            if (p.isObject()) {
                sb.append(String.format(Locale.ROOT, "rollout vs planted traps (%d probed trajectories took the trap): paper rule "
                                + "found a critical token in %d, it is the planted one %s, within one %s; official rule %d, %s, %s%n",
                        p.path("trajectories").asInt(), p.path("paper").path("with_critical").asInt(),
                        pct(p.path("paper").path("exact_rate")), pct(p.path("paper").path("within_one_rate")),
                        p.path("official").path("with_critical").asInt(), pct(p.path("official").path("exact_rate")),
                        pct(p.path("official").path("within_one_rate"))));
            }
        }
        JsonNode eval = readJson(runDir.resolve("08-eval/" + EvalStage.SUMMARY));
        if (eval == null) return sb.append("no eval summary yet (08-eval/summary.json)\n").toString();
        sb.append(String.format(Locale.ROOT, "%ngreedy accuracy on %d %s problems (95%% Wilson interval; paired: "
                + "difference in points, 95%% bootstrap CI, exact McNemar p)%n", eval.path("problems").asInt(),
                eval.path("split").asText()));
        sb.append(String.format(Locale.ROOT, "%-14s %8s %16s   %-34s %-34s%n", "method", "accuracy", "95% interval",
                "vs base", "vs dpo"));
        for (JsonNode m : eval.path("methods")) {
            String name = m.path("method").asText();
            sb.append(String.format(Locale.ROOT, "%-14s %7.1f%% %16s   %-34s %-34s%n", name, 100 * m.path("accuracy").asDouble(),
                    String.format(Locale.ROOT, "[%.1f, %.1f]", 100 * m.path("wilson_lower").asDouble(),
                            100 * m.path("wilson_upper").asDouble()),
                    comparison(eval, EvalStage.BASE, name), comparison(eval, EvalStage.DPO, name)));
        }
        sb.append(trapSplit(runDir.resolve("08-eval"), eval));
        return sb.toString();
    }

    /**
     * The paper's first observation on this run: pass@k from the prefix that keeps the critical token vs from the same
     * prefix with another token forced there, mean over the probed trajectories that have one (our rule), with a
     * Student-t interval over trajectories. Empty when no trajectory has a critical token.
     */
    static String criticalTokensExist(Path rolloutFile) {
        if (!Files.isRegularFile(rolloutFile)) return "";
        List<RolloutProbe.Result> withCritical = Jsonl.read(rolloutFile, RolloutProbe.Result.class).stream()
                .filter(r -> r.critical() >= 0).toList();
        if (withCritical.isEmpty()) return "";
        int k = withCritical.stream().mapToInt(RolloutProbe.Result::k).min().getAsInt();
        double[] kept = withCritical.stream().mapToDouble(r -> r.passAtKWith()[k - 1]).toArray();
        double[] replaced = withCritical.stream().mapToDouble(r -> r.passAtKWithout()[k - 1]).toArray();
        return String.format(Locale.ROOT, "critical tokens exist: pass@%d from the prefix that keeps the critical token %s, "
                + "with another token forced there %s (mean over %d trajectories, 95%% t-interval)%n", k,
                meanWithInterval(SeedMean.of(kept).clippedTo(0, 1)), meanWithInterval(SeedMean.of(replaced).clippedTo(0, 1)), kept.length);
    }

    private static String meanWithInterval(SeedMean m) {
        if (Double.isNaN(m.lower())) return String.format(Locale.ROOT, "%.1f%%", 100 * m.mean());
        return String.format(Locale.ROOT, "%.1f%% [%.1f, %.1f]", 100 * m.mean(), 100 * m.lower(), 100 * m.upper());
    }

    /**
     * Accuracy of each method on the problems with a planted trap and on those without (eval records name the trap
     * family, organism v2), 95% Wilson intervals. Empty when no eval record names a trap.
     */
    static String trapSplit(Path evalDir, JsonNode evalSummary) {
        Map<String, List<EvalOutcome>> evals = new LinkedHashMap<>();
        for (JsonNode m : evalSummary.path("methods")) {
            Path file = evalDir.resolve("eval-" + m.path("method").asText() + ".jsonl");
            if (Files.isRegularFile(file)) evals.put(m.path("method").asText(), Jsonl.read(file, EvalOutcome.class));
        }
        Table split = Analyses.trapSplit(evals);                  // rows: (method, subset), Table 1 order
        Map<String, Map<String, String>> cells = new LinkedHashMap<>();
        Map<String, Integer> sizes = new HashMap<>();
        for (int i = 0; i < split.rowCount(); i++) {
            String subset = split.stringColumn("subset").get(i);
            sizes.put(subset, split.intColumn("n").get(i));
            cells.computeIfAbsent(split.stringColumn("method").get(i), k -> new HashMap<>()).put(subset, String.format(
                    Locale.ROOT, "%.1f%% [%.1f, %.1f]", 100 * split.doubleColumn("accuracy").get(i),
                    100 * split.doubleColumn("lower").get(i), 100 * split.doubleColumn("upper").get(i)));
        }
        if (!sizes.containsKey(Analyses.TRAP)) return "";          // no trap anywhere (organism v1, GSM8K): no split
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%n%-14s %-28s %-28s%n", "method",
                "trap problems (" + sizes.get(Analyses.TRAP) + ")",
                "no-trap problems (" + sizes.getOrDefault(Analyses.NO_TRAP, 0) + ")"));
        cells.forEach((method, c) -> sb.append(String.format(Locale.ROOT, "%-14s %-28s %-28s%n", method,
                c.getOrDefault(Analyses.TRAP, "n/a"), c.getOrDefault(Analyses.NO_TRAP, "n/a"))));
        return sb.toString();
    }

    private static String comparison(JsonNode eval, String a, String b) {
        for (JsonNode c : eval.path("comparisons")) {
            if (c.path("a").asText().equals(a) && c.path("b").asText().equals(b)) {
                return String.format(Locale.ROOT, "%+.1f [%+.1f, %+.1f] p=%.3g", 100 * c.path("difference").asDouble(),
                        100 * c.path("ci_lower").asDouble(), 100 * c.path("ci_upper").asDouble(), c.path("mcnemar_p").asDouble());
            }
        }
        return "";
    }

    private static String pct(JsonNode v) { return v.isNumber() ? String.format(Locale.ROOT, "%.0f%%", 100 * v.asDouble()) : "n/a"; }

    private static String num(JsonNode v) { return v.isNumber() ? String.format(Locale.ROOT, "%.2f", v.asDouble()) : "n/a"; }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) return null;
        try {
            return Jsonl.MAPPER.readTree(Jsonl.readUtf8(file));
        } catch (IOException e) {
            throw new CtlabException(file + ": not JSON (" + e.getMessage() + ")", e);
        }
    }

    private static JsonNode lastMetrics(Path file) {
        var lines = Jsonl.readLenient(file);
        return lines.isEmpty() ? null : lines.get(lines.size() - 1).json();
    }
}

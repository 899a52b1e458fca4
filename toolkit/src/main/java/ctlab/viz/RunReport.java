package ctlab.viz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import ctlab.analysis.Analyses;
import ctlab.analysis.RunData;
import ctlab.analysis.RunTables;
import ctlab.analysis.TokenTexts;
import ctlab.critical.Agreement;
import ctlab.critical.PlantedAgreement;
import ctlab.critical.RolloutProbe;
import ctlab.data.ScoredPair;
import ctlab.io.AtomicFiles;
import ctlab.model.Tokenizer;
import ctlab.run.StageMarker;
import ctlab.task.GradedSample;
import tech.tablesaw.api.Table;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One self-contained HTML report of a run directory: figures embedded as base64 PNG, tables, the run's config
 * and environment (versions, device, threads, seeds from the DONE markers). Sections appear for the stages that
 * have outputs; a run with unfinished or missing stages is labelled partial at the top.
 */
public final class RunReport {
    /** Stages of the cDPO pipeline in order (train = the preference-training stages {@code train-<loss>}). */
    static final List<String> PIPELINE = List.of("sample", "select", "train-pos", "train-neg", "score-ce", "rollout", "train", "eval");

    /**
     * @param dpi       resolution of the embedded figures
     * @param seed      bootstrap seed of the method comparison
     * @param texts     token splitter for token texts (null: try the run's tokenizer, else without token texts)
     */
    public record Options(int dpi, long seed, TokenTexts texts, Path figuresDir, int figuresDpi, Path ablation) {
        public Options {
            if (dpi < 36 || dpi > 600) throw new IllegalArgumentException("dpi must be in 36..600, got " + dpi);
            if (figuresDpi < 36 || figuresDpi > 1200) throw new IllegalArgumentException("figure dpi must be in 36..1200, got " + figuresDpi);
        }

        /** Report only, no figure files. */
        public Options(int dpi, long seed, TokenTexts texts) { this(dpi, seed, texts, null, 300, null); }

        public Options(int dpi, long seed, TokenTexts texts, Path figuresDir, int figuresDpi) {
            this(dpi, seed, texts, figuresDir, figuresDpi, null);
        }

        public static Options defaults() { return new Options(110, 0, null); }

        /** Also writes every figure as {@code NAME.png} (at {@code dpi}) and {@code NAME.svg} into {@code dir}. */
        public Options withFigures(Path dir, int dpi) { return new Options(this.dpi, seed, texts, dir, dpi, ablation); }

        /**
         * Also shows the multi-seed Table 1 analogue of an {@code ablate} result ({@code ablation.json}) in the
         * evaluation section (figure {@code accuracy-over-seeds}).
         */
        public Options withAblation(Path ablationJson) { return new Options(dpi, seed, texts, figuresDir, figuresDpi, ablationJson); }
    }

    private RunReport() {}

    /** Writes the report of {@code runDir} to {@code output} atomically and returns the output path. */
    public static Path write(Path runDir, Path output, Options options) {
        if (options.figuresDir() != null) {
            try {
                Files.createDirectories(options.figuresDir());
            } catch (java.io.IOException e) {
                throw new ctlab.CtlabException(options.figuresDir() + ": cannot create the figures folder (" + e.getMessage() + ")");
            }
        }
        String html = html(runDir, options);
        AtomicFiles.writeString(output, html);
        return output;
    }

    /** The report as an HTML string. Uses the run's tokenizer (config {@code model}) when no splitter is given. */
    public static String html(Path runDir, Options options) {
        RunData data = RunData.load(runDir);
        if (options.texts() != null) return render(data, options.texts(), options);
        Path modelDir = modelDir(data);
        if (modelDir != null && Files.exists(modelDir.resolve(Tokenizer.FILE))) {
            try (Tokenizer tok = Tokenizer.load(modelDir)) {
                return render(data, TokenTexts.of(tok), options);
            }
        }
        return render(data, null, options);
    }

    /** The config's {@code model} folder (relative paths against the working directory, like the pipeline). */
    static Path modelDir(RunData data) {
        return data.configText().map(text -> {
            try {
                JsonNode n = new YAMLMapper().readTree(text);
                return n != null && n.hasNonNull("model") && n.get("model").isTextual() ? Path.of(n.get("model").asText()) : null;
            } catch (Exception e) {
                return null;
            }
        }).orElse(null);
    }

    private static String render(RunData data, TokenTexts texts, Options o) {
        RunTables tables = new RunTables(data, texts);
        StringBuilder b = new StringBuilder(1 << 16);
        String name = data.root().toAbsolutePath().normalize().getFileName().toString();
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ctlab report: ").append(Html.escape(name))
                .append("</title><style>").append(CSS).append("</style></head><body>\n");
        b.append("<h1>ctlab run report: ").append(Html.escape(name)).append("</h1>\n");
        b.append("<p class=\"note\">").append(Html.escape(data.root().toAbsolutePath().normalize().toString()))
                .append(" · generated ").append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append("</p>\n");
        StringBuilder stages = new StringBuilder();
        stages(stages, b, data);                      // the partial-run banner goes to the top, the table to the end
        results(b, data, o);
        if (!data.graded().isEmpty()) selection(b, tables);
        if (!data.scoredPairs().isEmpty()) contrastive(b, tables, o);
        if (!data.rollouts().isEmpty()) rollout(b, tables, o);
        if (!tables.scoredRollouts().isEmpty()) agreement(b, tables, o);
        if (!data.trainMetrics().isEmpty()) training(b, tables, o);
        if (!data.evals().isEmpty()) evaluation(b, tables, o);
        b.append(stages);
        // provenance last and collapsed: wanted to reproduce a run, not to read its results
        b.append("<details>");
        config(b, data);
        b.append("</details>\n<details>");
        environment(b, data);
        b.append("</details>\n<details>");
        seeds(b, data);
        b.append("</details>\n");
        b.append(DECODE_CHECK).append("</body></html>\n");
        return b.toString();
    }

    private static void stages(StringBuilder b, StringBuilder banner, RunData data) {
        List<String> missing = new ArrayList<>();
        StringBuilder rows = new StringBuilder();
        List<String> names = new ArrayList<>();
        for (String s : PIPELINE) {
            if (s.equals("train")) {
                List<String> trains = data.stageDirs().keySet().stream()
                        .filter(k -> k.equals("train") || k.startsWith("train-") && !k.equals("train-pos") && !k.equals("train-neg")).toList();
                if (trains.isEmpty()) names.add("train"); else names.addAll(trains);
            } else {
                names.add(s);
            }
        }
        for (String s : names) {
            Path dir = data.stageDirs().get(s);
            StageMarker m = data.done().get(s);
            String status = m != null ? "finished" : dir != null ? "started, not finished" : "not run";
            if (m == null) missing.add(s);
            rows.append("<tr class=\"").append(m != null ? "ok" : "missing").append("\"><td>").append(Html.escape(s)).append("</td><td>")
                    .append(dir == null ? "–" : Html.escape(dir.getFileName().toString())).append("</td><td>").append(status)
                    .append("</td><td>").append(m == null || m.finished() == null ? "–" : Html.escape(m.finished()))
                    .append("</td><td class=\"num\">").append(m == null ? "–" : String.format(Locale.ROOT, "%.1f", m.seconds()))
                    .append("</td><td>").append(m == null ? "–" : m.resumed() ? "yes" : "no").append("</td></tr>");
        }
        if (!missing.isEmpty()) {
            banner.append("<div class=\"partial\"><strong>Partial run.</strong> Not finished: ").append(Html.escape(String.join(", ", missing)))
                    .append(". Sections below cover the stages with outputs only.</div>\n");
        }
        b.append("<h2 id=\"stages\">Stages</h2><table class=\"data\"><thead><tr><th>stage</th><th>folder</th><th>status</th>"
                + "<th>finished</th><th>seconds</th><th>resumed</th></tr></thead><tbody>").append(rows).append("</tbody></table>\n");
    }

    private static void config(StringBuilder b, RunData data) {
        b.append("<summary><h2 id=\"config\">Config</h2></summary>");
        b.append(data.configText().map(t -> "<pre>" + Html.escape(t) + "</pre>").orElse("<p class=\"note\">no config.yaml</p>")).append('\n');
    }

    private static void environment(StringBuilder b, RunData data) {
        b.append("<summary><h2 id=\"environment\">Environment</h2></summary>");
        if (data.done().isEmpty()) {
            b.append("<p class=\"note\">no finished stage: no provenance recorded yet</p>\n");
            return;
        }
        Map<String, Map<String, String>> versions = new TreeMap<>();       // key → value → stages
        Map<String, String> devices = new LinkedHashMap<>();
        for (var e : data.done().entrySet()) {
            StageMarker m = e.getValue();
            if (m.versions() != null) m.versions().forEach((k, v) -> versions.computeIfAbsent(k, x -> new LinkedHashMap<>())
                    .merge(v, e.getKey(), (a, c) -> a + ", " + c));
            devices.merge(m.device() + ", " + m.threads() + " threads", e.getKey(), (a, c) -> a + ", " + c);
        }
        b.append("<table class=\"data\"><thead><tr><th>component</th><th>version</th><th>stages</th></tr></thead><tbody>");
        versions.forEach((k, vs) -> vs.forEach((v, stages) -> b.append("<tr><td>").append(Html.escape(k)).append("</td><td>")
                .append(Html.escape(v)).append("</td><td>").append(vs.size() > 1 ? Html.escape(stages) : "all finished").append("</td></tr>")));
        devices.forEach((d, stages) -> b.append("<tr><td>device</td><td>").append(Html.escape(d)).append("</td><td>")
                .append(devices.size() > 1 ? Html.escape(stages) : "all finished").append("</td></tr>"));
        b.append("</tbody></table>\n");
    }

    private static void seeds(StringBuilder b, RunData data) {
        b.append("<summary><h2 id=\"seeds\">Seeds</h2></summary>");
        if (data.done().isEmpty()) {
            b.append("<p class=\"note\">no finished stage: no seeds recorded yet</p>\n");
            return;
        }
        b.append("<table class=\"data\"><thead><tr><th>stage</th><th>seed</th><th>derived seeds (first)</th></tr></thead><tbody>");
        data.done().forEach((stage, m) -> b.append("<tr><td>").append(Html.escape(stage)).append("</td><td class=\"num\">").append(m.seed())
                .append("</td><td>").append(m.seeds() == null ? "" : Html.escape(m.seeds().toString())).append("</td></tr>"));
        b.append("</tbody></table>\n");
    }

    /** Results first: the paper-style Table 1 and, when the rollout was coarse, a visible note saying how coarse. */
    private static void results(StringBuilder b, RunData data, Options o) {
        if (data.evals().isEmpty() && data.rollouts().isEmpty()) return;
        b.append("<h2 id=\"results\">Results</h2>\n");
        if (!data.evals().isEmpty()) b.append(table1(Analyses.methodComparison(data.evals(), o.seed()), o.seed()));
        if (!data.rollouts().isEmpty()) {
            resolutionNote(data.rollouts()).ifPresent(n -> b.append("<div class=\"caveat\">").append(Html.escape(n)).append("</div>\n"));
        }
    }

    /** Paper-style Table 1 of {@code Analyses.methodComparison}: accuracy in % [95% CI], Δ in points [95% CI] and p. */
    static String table1(Table m, long seed) {
        List<String> refs = new ArrayList<>();
        for (String ref : List.of(Analyses.BASE, Analyses.DPO)) if (m.columnNames().contains("diff_vs_" + ref)) refs.add(ref);
        int n = m.rowCount() == 0 ? 0 : m.intColumn("n").get(0);
        double best = m.rowCount() == 0 ? Double.NaN : m.doubleColumn("accuracy").max();
        StringBuilder t = new StringBuilder("<table class=\"table1\"><caption>Table 1 analogue: accuracy on ").append(n)
                .append(" test problems with 95% Wilson intervals; Δ in percentage points with 95% paired bootstrap intervals (seed ")
                .append(seed).append(") and exact McNemar p</caption><thead><tr><th>Method</th><th>Accuracy (%)</th>");
        for (String ref : refs) t.append("<th>Δ vs ").append(Html.escape(FigureStyle.methodLabel(ref))).append("</th><th>p</th>");
        t.append("</tr></thead><tbody>");
        for (int i = 0; i < m.rowCount(); i++) {
            double acc = m.doubleColumn("accuracy").get(i);
            t.append("<tr><td>").append(Html.escape(FigureStyle.methodLabel(m.stringColumn("method").get(i)))).append("</td><td class=\"num\">")
                    .append(acc == best ? "<strong>" : "").append(pct(acc, false)).append(acc == best ? "</strong>" : "")
                    .append(" <span class=\"ci\">[").append(pct(m.doubleColumn("wilson_lo").get(i), false)).append(", ")
                    .append(pct(m.doubleColumn("wilson_hi").get(i), false)).append("]</span></td>");
            for (String ref : refs) {
                var d = m.doubleColumn("diff_vs_" + ref);
                if (d.isMissing(i)) {
                    t.append("<td class=\"num\">–</td><td class=\"num\">–</td>");
                    continue;
                }
                t.append("<td class=\"num\">").append(pct(d.get(i), true)).append(" <span class=\"ci\">[")
                        .append(pct(m.doubleColumn("diff_lo_vs_" + ref).get(i), true)).append(", ")
                        .append(pct(m.doubleColumn("diff_hi_vs_" + ref).get(i), true)).append("]</span></td><td class=\"num\">")
                        .append(pValue(m.doubleColumn("mcnemar_p_vs_" + ref).get(i))).append("</td>");
            }
            t.append("</tr>");
        }
        return t.append("</tbody></table>\n").toString();
    }

    private static String pct(double v, boolean signed) {
        return String.format(Locale.ROOT, signed ? "%+.1f" : "%.1f", 100 * v).replace("-", "−");
    }

    private static String pValue(double p) {
        return Double.isNaN(p) ? "–" : p < 0.001 ? "&lt;0.001" : String.format(Locale.ROOT, p < 0.01 ? "%.3f" : "%.2f", p);
    }

    /**
     * A note when the rollout estimates are coarse (fewer than 50 trajectories, fewer than 32 continuations per
     * side, or not every position probed; the paper: k = 64 at every position), else empty.
     */
    static java.util.Optional<String> resolutionNote(List<RolloutProbe.Result> rollouts) {
        if (rollouts.isEmpty()) return java.util.Optional.empty();
        int n = rollouts.size();
        int k = rollouts.stream().mapToInt(RolloutProbe.Result::k).min().orElse(0);
        List<Integer> gaps = new ArrayList<>();
        for (RolloutProbe.Result r : rollouts) {
            for (int i = 1; i < r.tokens().size(); i++) gaps.add(r.tokens().get(i).position() - r.tokens().get(i - 1).position());
        }
        int stride = gaps.isEmpty() ? 1 : gaps.stream().sorted().toList().get(gaps.size() / 2);   // the median gap
        if (n >= 50 && k >= 32 && stride <= 1) return java.util.Optional.empty();
        String every = stride <= 1 ? "every position" : "every " + stride + (stride == 2 ? "nd" : stride == 3 ? "rd" : "th") + " position";
        return java.util.Optional.of(String.format(Locale.ROOT, "Low rollout resolution: %d %s, k = %d continuations per side, %s probed. "
                + "Critical tokens and pass@k here are coarse estimates (the paper: k = 64 at every position).",
                n, n == 1 ? "trajectory" : "trajectories", k, every));
    }

    private static void selection(StringBuilder b, RunTables t) {
        List<GradedSample> g = t.data().graded();
        long correct = g.stream().filter(GradedSample::correct).count();
        Table problems = t.problems();
        b.append("<h2 id=\"selection\">Sampling and selection</h2>");
        b.append(String.format(Locale.ROOT, "<p>%d graded samples over %d problems; %d correct (%.1f%%).</p>", g.size(),
                problems.rowCount(), correct, 100.0 * correct / g.size()));
        b.append(Html.table(problems, 25)).append('\n');
    }

    private static void contrastive(StringBuilder b, RunTables t, Options o) {
        List<ScoredPair> pairs = t.data().scoredPairs();
        b.append("<h2 id=\"contrastive\">Contrastive estimation</h2>");
        b.append("<p>").append(pairs.size()).append(" CE-scored pairs; s_t = per-token score of the pos/neg models (paper Eq. 4–5), "
                + "low s_t marks a candidate critical token.</p>");
        PlantedAgreement.Summary planted = PlantedAgreement.ofRejected(pairs);
        if (planted != null) {
            b.append(String.format(Locale.ROOT, "<p><strong>Against the planted traps</strong> (organism v2 ground truth: the "
                    + "decisive token of the %d rejected responses that took the trap operator): AUROC of 1 − s_t %.3f, the "
                    + "lowest s_t is the planted token in %.1f%%, within one token in %.1f%%.</p>", planted.trajectories(),
                    planted.pooledAuroc(), 100 * planted.precisionAt1(), 100 * planted.withinOne()));
            Table roc = Analyses.plantedRoc(t);
            if (roc.rowCount() > 0) {
                b.append(figure(o, "roc-planted", Figures.plantedRoc(roc, planted.pooledAuroc()), "ROC against the planted tokens",
                        "ROC of 1 − s_t against the planted trap token, pooled over every token of the rejected responses that took the trap"));
            }
        }
        // the heat map of a rolled-out trajectory with a critical token, else of the first rejected response
        Table tokens = t.tokens();
        TokenHeatMap map = Figures.ceHeatMap(t);
        List<String> marked = new java.util.ArrayList<>();
        for (TokenHeatMap.Marking m : map.markings()) marked.add(m.label() + " at position " + m.positions().iterator().next());
        boolean haveTexts = !map.tokens().contains(Figures.UNKNOWN_TOKEN);
        String title = "CE scores s_t of a rejected response";   // the marks go into the caption: a long title is cut in the PNG
        TokenHeatMapImage img = new TokenHeatMapImage(map, title, "s_t (CE score)", 900);
        if (o.figuresDir() != null) {
            img.savePng(o.figuresDir().resolve("ce-heatmap.png"), o.figuresDpi());
            img.saveSvg(o.figuresDir().resolve("ce-heatmap.svg"));
            img.savePdf(o.figuresDir().resolve("ce-heatmap.pdf"));
        }
        b.append(Html.png(img.png(o.dpi()), "token heat map", "Fig. 3 analogue: tokens coloured by s_t"
                + (haveTexts ? "" : " (token texts unavailable: no tokenizer; dots stand for tokens)")
                + (marked.isEmpty() ? "" : "; marked: " + String.join(", ", marked)) + "; hover the interactive version below."));
        b.append("<details><summary>interactive heat map</summary>").append(map.title(title).toHtml()).append("</details>\n");
        b.append(Html.table(Analyses.ceBySide(tokens), 5));
        if (!t.data().rollouts().isEmpty() && !t.scoredRollouts().isEmpty()) {
            b.append(Html.table(Analyses.ceSummary(tokens), 10));
            b.append(figure(o, "ce-histogram", Figures.ceHistogram(Analyses.ceHistogram(tokens, 20)), "CE histogram",
                    "s_t of rollout critical tokens vs all other tokens of the rolled-out responses"));
        }
        b.append(Html.table(t.trajectories(), 20)).append('\n');
    }

    private static void rollout(StringBuilder b, RunTables t, Options o) {
        List<RolloutProbe.Result> rs = t.data().rollouts();
        long withCrit = rs.stream().filter(r -> r.critical() >= 0).count();
        b.append("<h2 id=\"rollout\">Rollout critical tokens</h2>");
        b.append(String.format(Locale.ROOT, "<p>%d trajectories rolled out, %d with a critical token (first-drop rule), %d by the official rule.</p>",
                rs.size(), withCrit, rs.stream().filter(r -> r.criticalOfficial() >= 0).count()));
        Table pass = Analyses.passAtK(rs);
        if (pass.rowCount() > 0) {
            b.append(figure(o, "pass-at-k", Figures.passAtK(pass), "pass@k with vs without",
                    "Fig. 1/2 analogue: mean pass@k of continuations keeping vs replacing the critical token"));
            b.append(Html.table(pass, 16));
            b.append(figure(o, "pass-at-k-example", Figures.passAtKExample(rs), "pass@k of one trajectory",
                    "Fig. 1 analogue: the trajectory whose kept and replaced curves lie furthest apart, continuations keeping vs replacing its critical token"));
        }
        b.append(Html.table(Analyses.criticalByClass(t.tokens()), 10));
        b.append(Html.table(Analyses.criticalPlacement(t), 25)).append('\n');
    }

    private static void agreement(StringBuilder b, RunTables t, Options o) {
        b.append("<h2 id=\"agreement\">CE vs rollout agreement</h2>");
        Table ag = Analyses.agreement(t);
        b.append(Html.table(ag, 5));
        Table roc = Analyses.roc(t, RolloutProbe.Rule.FIRST_DROP, Agreement.Labels.CRITICAL);
        if (roc.rowCount() > 0) {
            b.append(figure(o, "roc", Figures.roc(roc, ag.doubleColumn("pooled_auroc").get(0)), "ROC",
                    "ROC of 1 − s_t against the rollout critical token (first-drop rule), pooled over probed tokens"));
        }
        b.append('\n');
    }

    private static final Map<String, String> CURVES = new LinkedHashMap<>();
    static {
        CURVES.put("loss", "loss");
        CURVES.put("rewards/margins", "reward margin");
        CURVES.put("rewards/accuracies", "reward accuracy");
        CURVES.put("rewards/chosen", "chosen reward");
        CURVES.put("rewards/rejected", "rejected reward");
    }

    private static void training(StringBuilder b, RunTables t, Options o) {
        Table tm = t.trainingMetrics();
        b.append("<h2 id=\"training\">Preference training</h2>");
        b.append("<p>Methods: ").append(Html.escape(String.join(", ", t.data().trainMetrics().keySet()))).append("; metric names as TRL logs them.</p>");
        b.append("<div class=\"grid\">");
        CURVES.forEach((metric, label) -> {
            if (tm.columnNames().contains(metric) && tm.doubleColumn(metric).countMissing() < tm.rowCount()) {
                b.append(figure(o, "training-" + metric.replace('/', '-'), Figures.trainingCurve(tm, metric, label), label, label + " per logged step"));
            }
        });
        b.append("</div>");
        b.append(Html.table(Analyses.lastLoggedStep(tm), 20)).append('\n');
    }

    private static void evaluation(StringBuilder b, RunTables t, Options o) {
        RunData data = t.data();
        b.append("<h2 id=\"evaluation\">Evaluation</h2>");
        Table m = Analyses.methodComparison(data.evals(), o.seed());
        b.append("<p>Table 1 analogue: accuracy with 95% Wilson intervals; differences vs base and vs DPO with 95% paired bootstrap "
                + "intervals (seed ").append(o.seed()).append(") and exact McNemar p-values.</p>");
        b.append(Html.table(m, 20));
        b.append("<details><summary>per-problem outcomes</summary>").append(Html.table(t.evalOutcomes(), 1000)).append("</details>");
        if (m.rowCount() > 0) {
            b.append(figure(o, "method-comparison", Figures.methodComparison(m), "method comparison", "accuracy by method with 95% Wilson intervals"));
        }
        Table split = Analyses.trapSplit(data.evals());
        if (split.stringColumn("subset").contains(Analyses.TRAP)) {   // organism v2: some test problems carry a trap
            b.append("<p>Accuracy on the test problems with and without a planted trap (95% Wilson intervals).</p>");
            b.append(Html.table(split, 40));
            b.append(figure(o, "accuracy-by-trap", Figures.accuracyBySubset(split, "Accuracy with and without a trap (95% Wilson intervals)"),
                    "accuracy by trap", "accuracy by method on all test problems, those without a trap and those with one"));
        }
        if (o.ablation() != null) {
            Table seeds = Analyses.seedTable(o.ablation());
            b.append("<p>Over seeds (").append(Html.escape(o.ablation().toString()))
                    .append("): mean accuracy with its 95% Student-t interval over the seeds.</p>");
            b.append(Html.table(seeds, 40));
            int n = seeds.rowCount() == 0 ? 0 : (int) seeds.intColumn("seeds").max();
            b.append(figure(o, "accuracy-over-seeds", Figures.accuracyBySubset(seeds, "Accuracy over " + n + " seeds (mean, 95% t interval)"),
                    "accuracy over seeds", "mean accuracy over seeds with 95% t intervals, all problems and by trap"));
        }
        b.append('\n');
    }

    /** The chart as an embedded PNG; also saved as PNG + SVG + PDF when the options ask for figure files. */
    private static String figure(Options o, String name, org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, String alt, String caption) {
        if (o.figuresDir() != null) {
            Figures.savePng(chart, o.figuresDir().resolve(name + ".png"), o.figuresDpi());
            Figures.saveSvg(chart, o.figuresDir().resolve(name + ".svg"));
            Figures.save(chart, o.figuresDir().resolve(name + ".pdf"));
        }
        return Html.png(Figures.png(chart, o.dpi()), alt, caption);
    }

    private static final String CSS = """
            body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
            h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
            table.data{border-collapse:collapse;margin:1em 0;font-size:.88em}table.data th,table.data td{border:1px solid #ddd;padding:3px 7px}
            table.data th{background:#f4f4f4;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
            caption{text-align:left;font-weight:600;padding:.3em 0}tr.missing td{color:#a33}
            pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:.8em;overflow:auto;font-size:.85em}
            figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
            .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:.5em}
            table.table1{border-collapse:collapse;margin:.6em 0 1em;font-size:.95em}table.table1 caption{font-weight:normal;color:#444;font-size:.85em}
            table.table1 th,table.table1 td{padding:4px 12px;border-bottom:1px solid #ddd}table.table1 thead th{border-bottom:2px solid #222;border-top:2px solid #222;text-align:right}
            table.table1 th:first-child{text-align:left}table.table1 tbody tr:last-child td{border-bottom:2px solid #222}.ci{color:#666;font-size:.85em}
            .caveat{background:#eef5fb;border:1px solid #0072b2;padding:.6em 1em;border-radius:4px;margin:.8em 0}
            details{margin:.6em 0}summary{cursor:pointer}summary h2{display:inline-block;margin:.6em 0 .2em}
            .scroll{overflow-x:auto}.partial{background:#fff4e5;border:1px solid #e69f00;padding:.6em 1em;border-radius:4px}.note{color:#666;font-size:.85em}
            """;

    /** Records in the DOM whether every embedded image decoded (for automated checks; no effect on the page). */
    private static final String DECODE_CHECK = "<script>window.addEventListener('load',function(){var i=document.images,n=0;"
            + "for(var k=0;k<i.length;k++)if(i[k].complete&&i[k].naturalWidth>0)n++;"
            + "document.body.setAttribute('data-images',n+'/'+i.length);});</script>\n";
}

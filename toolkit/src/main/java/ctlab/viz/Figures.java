package ctlab.viz;

import ctlab.io.AtomicFiles;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.knowm.xchart.style.lines.SeriesLines;
import ctlab.analysis.Analyses;
import ctlab.critical.RolloutProbe;
import tech.tablesaw.api.Row;
import tech.tablesaw.api.Table;

import java.awt.BasicStroke;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The paper figures as XChart charts built from the analysis tables ({@link ctlab.analysis.Analyses},
 * {@link ctlab.analysis.RunTables}), all in {@link FigureStyle}, plus PNG (at a chosen DPI) and SVG export.
 */
public final class Figures {
    private Figures() {}

    /** pass@k with vs without the critical token (paper Fig. 1/2/5) from {@code Analyses.passAtK}; k on a log scale. */
    public static XYChart passAtK(Table passAtK) {
        XYChart c = xy("pass@k with vs without the critical token", "k (continuations sampled, log scale)", "pass@k");
        if (passAtK.rowCount() > 0) {
            double[] k = passAtK.intColumn("k").asDoubleArray();
            int n = passAtK.intColumn("trajectories").get(0);
            line(c.addSeries("critical token kept", k, passAtK.doubleColumn("pass_with").asDoubleArray()), FigureStyle.BLUE, SeriesLines.SOLID);
            line(c.addSeries("critical token replaced", k, passAtK.doubleColumn("pass_without").asDoubleArray()), FigureStyle.VERMILLION, SeriesLines.DASH_DASH);
            c.setTitle("pass@k with vs without the critical token (" + n + (n == 1 ? " trajectory)" : " trajectories)"));
            c.getStyler().setXAxisMax(Math.max(2.0, k[k.length - 1]));
        }
        c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0).setXAxisMin(1.0);
        // pass@k grows like log k (paper Fig. 2); ticks at 1..9, 10, 20, ... (not decades only: k is often <= 64)
        c.getStyler().setXAxisLogarithmic(true).setXAxisLogarithmicDecadeOnly(false);
        c.getStyler().setXAxisDecimalPattern("0");
        c.getStyler().setYAxisDecimalPattern("0.0");
        return fitted(c);
    }

    /**
     * The rolled-out trajectory with a critical token whose kept and replaced pass@k curves lie furthest apart
     * (summed over k): the clearest Fig. 1 example (the first one found is often two flat lines at 0).
     */
    public static java.util.Optional<RolloutProbe.Result> largestGap(List<RolloutProbe.Result> rollouts) {
        RolloutProbe.Result best = null;
        double bestGap = -1;
        for (RolloutProbe.Result r : rollouts) {
            if (r.critical() < 0) continue;
            double[] w = r.passAtKWith(), wo = r.passAtKWithout();
            double gap = 0;
            for (int i = 0; i < Math.min(w.length, wo.length); i++) gap += Math.abs(w[i] - wo[i]);
            if (gap > bestGap) {
                best = r;
                bestGap = gap;
            }
        }
        return java.util.Optional.ofNullable(best);
    }

    /** Paper Fig. 1 analogue: pass@k of one trajectory ({@link #largestGap}) keeping vs replacing its critical token. */
    public static XYChart passAtKExample(List<RolloutProbe.Result> rollouts) {
        var best = largestGap(rollouts);
        XYChart c = passAtK(Analyses.passAtK(best.map(List::of).orElse(List.of())));
        c.setTitle(best.map(r -> "pass@k of " + r.trajectoryId() + ", critical token at position " + r.critical())
                .orElse("pass@k of one trajectory: no critical token found"));
        return fitted(c);
    }

    /**
     * Per probed position of one rolled-out trajectory, the fraction of correct continuations keeping vs replacing
     * the token there, with the critical token marked (paper Fig. 1, token by token).
     */
    public static XYChart rolloutRates(RolloutProbe.Result r) {
        XYChart c = xy("Continuations correct along " + r.trajectoryId(), "response position", "fraction of continuations correct");
        double[] pos = r.tokens().stream().mapToDouble(RolloutProbe.TokenRow::position).toArray();
        if (pos.length > 0) {
            line(c.addSeries("token kept", pos, r.tokens().stream().mapToDouble(RolloutProbe.TokenRow::withRate).toArray()),
                    FigureStyle.BLUE, SeriesLines.SOLID);
            line(c.addSeries("token replaced", pos, r.tokens().stream().mapToDouble(RolloutProbe.TokenRow::withoutRate).toArray()),
                    FigureStyle.VERMILLION, SeriesLines.DASH_DASH);
        }
        if (r.critical() >= 0) {
            XYSeries mark = c.addSeries("critical token (position " + r.critical() + ")", new double[] {r.critical(), r.critical()}, new double[] {0, 1});
            mark.setMarker(SeriesMarkers.NONE);
            mark.setLineColor(FigureStyle.GREY);
            mark.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {4f, 3f}, 0));
        }
        c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        c.getStyler().setXAxisDecimalPattern("0");
        c.getStyler().setYAxisDecimalPattern("0.0");
        return fitted(c);
    }

    /**
     * A one-series bar chart of {@code valueColumn} by {@code labelColumn} of a table, in the ctlab theme: the
     * one-line figure for a notebook cell. Values all in [0, 1] get a 0..1 axis.
     */
    public static CategoryChart bars(Table table, String labelColumn, String valueColumn, String title, String yTitle) {
        for (String col : List.of(labelColumn, valueColumn)) {
            if (!table.columnNames().contains(col)) {
                throw new ctlab.CtlabException("table '" + table.name() + "': no column '" + col + "' (columns: " + table.columnNames() + ")");
            }
        }
        CategoryChart c = FigureStyle.apply(new CategoryChartBuilder().width(FigureStyle.WIDTH).height(FigureStyle.HEIGHT)
                .title(title).xAxisTitle(labelColumn.replace('_', ' ')).yAxisTitle(yTitle).build());
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < table.rowCount(); i++) labels.add(String.valueOf(table.column(labelColumn).get(i)));
        double[] v = table.numberColumn(valueColumn).asDoubleArray();
        if (!labels.isEmpty()) c.addSeries(valueColumn, labels, boxed(v)).setFillColor(FigureStyle.BLUE);
        c.getStyler().setLegendVisible(false);
        c.getStyler().setYAxisMin(0.0);
        if (java.util.Arrays.stream(v).allMatch(x -> Double.isNaN(x) || x >= 0 && x <= 1)) {
            c.getStyler().setYAxisMax(1.0);
            c.getStyler().setYAxisDecimalPattern("0.0");
        }
        c.getStyler().setXAxisLabelRotation(labels.size() > 8 ? 45 : 0);
        return fitted(c);
    }

    /** Share of critical tokens per token class, from {@code Analyses.criticalByClass}. */
    public static CategoryChart criticalByClass(Table byClass) {
        return bars(byClass, "token_class", "share_of_critical", "Critical tokens by token class", "share of critical tokens");
    }

    /** Histogram of s_t for critical vs other tokens (fractions of each group) from {@code Analyses.ceHistogram}. */
    public static CategoryChart ceHistogram(Table hist) {
        CategoryChart c = FigureStyle.apply(new CategoryChartBuilder().width(FigureStyle.WIDTH).height(FigureStyle.HEIGHT)
                .title("CE score s_t: critical vs other tokens").xAxisTitle("s_t (bin centre)").yAxisTitle("fraction of tokens").build());
        List<String> labels = new ArrayList<>();
        for (Row r : hist) {
            double centre = (r.getDouble("bin_lo") + r.getDouble("bin_hi")) / 2;   // exact: 0.025, not a rounded 0.03
            labels.add(new java.math.BigDecimal(centre).setScale(4, java.math.RoundingMode.HALF_EVEN).stripTrailingZeros().toPlainString());
        }
        if (!labels.isEmpty()) {
            double width = hist.doubleColumn("bin_hi").get(0) - hist.doubleColumn("bin_lo").get(0);
            c.setXAxisTitle("s_t (bin centre, bin width " + new java.math.BigDecimal(width).round(new java.math.MathContext(3))
                    .stripTrailingZeros().toPlainString() + ")");
        }
        long crit = hist.intColumn("critical").sum() > 0 ? (long) hist.intColumn("critical").sum() : 0;
        long other = (long) hist.intColumn("other").sum();
        if (!labels.isEmpty()) {
            c.addSeries("critical (n=" + crit + ")", labels, boxed(hist.doubleColumn("critical_fraction").asDoubleArray()))
                    .setFillColor(FigureStyle.VERMILLION);
            c.addSeries("other (n=" + other + ")", labels, boxed(hist.doubleColumn("other_fraction").asDoubleArray()))
                    .setFillColor(FigureStyle.BLUE);
        }
        c.getStyler().setXAxisLabelRotation(labels.size() > 12 ? 45 : 0);
        c.getStyler().setYAxisDecimalPattern("0.00");
        return fitted(c);
    }

    /** ROC of CE against rollout labels from {@code Analyses.roc}, with the chance diagonal and the AUROC in the legend. */
    public static XYChart roc(Table roc, double auroc) {
        return roc(roc, auroc, "ROC of CE score against rollout critical tokens");
    }

    /** Organism v2: ROC of CE against the planted trap tokens, from {@code Analyses.plantedRoc}. */
    public static XYChart plantedRoc(Table roc, double auroc) {
        return roc(roc, auroc, "ROC of CE score against the planted trap tokens");
    }

    private static XYChart roc(Table roc, double auroc, String title) {
        XYChart c = xy(title, "false positive rate", "true positive rate");
        c.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0);
        XYSeries chance = c.addSeries("chance", new double[] {0, 1}, new double[] {0, 1});
        chance.setMarker(SeriesMarkers.NONE);
        chance.setLineColor(FigureStyle.GREY);
        chance.setLineStyle(SeriesLines.DASH_DASH);
        if (roc.rowCount() > 0) {
            line(c.addSeries(String.format(Locale.ROOT, "1 − s_t (AUROC %.3f)", auroc),
                    roc.doubleColumn("fpr").asDoubleArray(), roc.doubleColumn("tpr").asDoubleArray()), FigureStyle.BLUE, SeriesLines.SOLID)
                    .setMarker(SeriesMarkers.NONE);
        }
        c.getStyler().setXAxisDecimalPattern("0.0").setYAxisDecimalPattern("0.0");
        return fitted(c);
    }

    /**
     * Method comparison (Table 1 analogue): accuracy bars with their asymmetric 95% Wilson interval whiskers, from
     * {@code Analyses.methodComparison}. Drawn on an XY chart (filled rectangles and whisker lines) because
     * XChart's error bars are symmetric and Wilson intervals are not.
     */
    public static XYChart methodComparison(Table methods) {
        XYChart c = xy("Accuracy by method (95% Wilson intervals)", "method", "accuracy");
        int n = methods.rowCount();
        double top = 0;
        for (int i = 0; i < n; i++) {
            Row r = methods.row(i);
            double a = r.getDouble("accuracy"), lo = r.getDouble("wilson_lo"), hi = r.getDouble("wilson_hi");
            XYSeries bar = c.addSeries(r.getString("method"), new double[] {i - 0.35, i - 0.35, i + 0.35, i + 0.35},
                    new double[] {0, a, a, 0});
            bar.setXYSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Area);
            bar.setMarker(SeriesMarkers.NONE);
            bar.setFillColor(FigureStyle.methodColor(r.getString("method")));
            bar.setLineColor(FigureStyle.methodColor(r.getString("method")));
            bar.setLineStyle(SeriesLines.SOLID);
            top = Math.max(top, hi);
            // method names above the whiskers: XChart places XY tick labels on its own grid, not at the bars
            AnnotationText label = new AnnotationText(FigureStyle.methodLabel(r.getString("method")), i, hi + 0.045, false);
            c.addAnnotation(label);
            bar.setShowInLegend(false);
            // whisker and caps as separate line series (a NaN gap would also break XChart's tick placement)
            whisker(c, r.getString("method") + " CI", new double[] {i, i}, new double[] {lo, hi});
            whisker(c, r.getString("method") + " lo", new double[] {i - 0.1, i + 0.1}, new double[] {lo, lo});
            whisker(c, r.getString("method") + " hi", new double[] {i - 0.1, i + 0.1}, new double[] {hi, hi});
        }
        c.getStyler().setXAxisMin(-0.6).setXAxisMax(Math.max(0.6, n - 0.4)).setYAxisMin(0.0)
                .setYAxisMax(Math.max(1.0, Math.ceil((top + 0.1) * 10) / 10));
        c.getStyler().setXAxisTicksVisible(false);
        c.getStyler().setLegendVisible(false);
        c.getStyler().setPlotGridVerticalLinesVisible(false);
        c.getStyler().setAnnotationTextFont(new java.awt.Font(FigureStyle.FONT, java.awt.Font.PLAIN, 13));
        c.getStyler().setAnnotationTextFontColor(java.awt.Color.BLACK);
        c.getStyler().setPlotGridVerticalLinesVisible(false);
        c.getStyler().setYAxisDecimalPattern("0.0");
        return fitted(c);
    }

    /**
     * Organism v2's Table 1 figure: accuracy per method (Table 1 order) in groups of bars, one bar per subset (all,
     * no trap, trap) in its own colour and hatch-free fill, each with its interval whisker; from
     * {@code Analyses.trapSplit} (one run, Wilson intervals) or {@code Analyses.seedTable} (mean over seeds,
     * t intervals). Rows without an interval (one seed) get no whisker.
     */
    public static XYChart accuracyBySubset(Table table, String title) {
        XYChart c = xy(title, "method", "accuracy (fraction of test problems correct)");
        List<String> methods = new ArrayList<>(new java.util.LinkedHashSet<>(table.stringColumn("method").asList()));
        methods.sort(java.util.Comparator.comparingInt(Analyses::methodRank));
        List<String> subsets = new ArrayList<>(new java.util.LinkedHashSet<>(table.stringColumn("subset").asList()));
        java.awt.Color[] colours = {FigureStyle.GREY, FigureStyle.BLUE, FigureStyle.VERMILLION, FigureStyle.GREEN, FigureStyle.ORANGE};
        double width = 0.8 / Math.max(1, subsets.size()), top = 0;
        for (int g = 0; g < subsets.size(); g++) {
            boolean legend = true;
            for (int i = 0; i < methods.size(); i++) {
                Table rows = table.where(table.stringColumn("method").isEqualTo(methods.get(i))
                        .and(table.stringColumn("subset").isEqualTo(subsets.get(g))));
                if (rows.rowCount() == 0) continue;
                double a = rows.doubleColumn("accuracy").get(0);
                double lo = rows.doubleColumn("lower").isMissing(0) ? Double.NaN : rows.doubleColumn("lower").get(0);
                double hi = rows.doubleColumn("upper").isMissing(0) ? Double.NaN : rows.doubleColumn("upper").get(0);
                double x0 = i - 0.4 + g * width, x1 = x0 + width * 0.9, mid = (x0 + x1) / 2;
                XYSeries bar = c.addSeries(legend ? subsets.get(g) : subsets.get(g) + " " + methods.get(i),
                        new double[] {x0, x0, x1, x1}, new double[] {0, a, a, 0});
                bar.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Area);
                bar.setMarker(SeriesMarkers.NONE);
                bar.setFillColor(colours[g % colours.length]);
                bar.setLineColor(colours[g % colours.length]);
                bar.setLineStyle(SeriesLines.SOLID);   // XChart cycles dash styles per series otherwise
                bar.setShowInLegend(legend);
                legend = false;
                top = Math.max(top, Double.isNaN(hi) ? a : hi);
                if (!Double.isNaN(lo) && !Double.isNaN(hi)) {
                    String id = subsets.get(g) + " " + methods.get(i);
                    whisker(c, id + " CI", new double[] {mid, mid}, new double[] {lo, hi});
                    whisker(c, id + " lo", new double[] {mid - width * 0.2, mid + width * 0.2}, new double[] {lo, lo});
                    whisker(c, id + " hi", new double[] {mid - width * 0.2, mid + width * 0.2}, new double[] {hi, hi});
                }
            }
        }
        double yMax = Math.max(1.0, Math.ceil((top + 0.12) * 10) / 10);
        for (int i = 0; i < methods.size(); i++)   // method names under the groups' tops (XY ticks cannot be placed at bars)
            c.addAnnotation(new AnnotationText(FigureStyle.methodLabel(methods.get(i)), i, yMax - 0.05, false));
        c.getStyler().setXAxisMin(-0.6).setXAxisMax(Math.max(0.6, methods.size() - 0.4)).setYAxisMin(0.0).setYAxisMax(yMax);
        c.getStyler().setXAxisTicksVisible(false);
        c.getStyler().setPlotGridVerticalLinesVisible(false);
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
        c.getStyler().setAnnotationTextFont(new java.awt.Font(FigureStyle.FONT, java.awt.Font.PLAIN, 13));
        c.getStyler().setAnnotationTextFontColor(java.awt.Color.BLACK);
        c.getStyler().setYAxisDecimalPattern("0.0");
        return fitted(c);
    }

    private static void whisker(XYChart c, String name, double[] x, double[] y) {
        XYSeries w = c.addSeries(name, x, y);
        w.setMarker(SeriesMarkers.NONE);
        w.setLineColor(FigureStyle.BLACK);
        w.setLineStyle(new BasicStroke(1.6f));
        w.setShowInLegend(false);
    }

    /**
     * A training metric per step, one line per method in its {@link FigureStyle#methodColor} colour: an exponential
     * moving average drawn solid over the raw values drawn faint ({@code NAME (raw)}, not in the legend). SFT's loss
     * (a token NLL, on another scale than the preference losses) gets its own right-hand axis.
     */
    public static XYChart trainingCurve(Table training, String metric, String yTitle) {
        XYChart c = xy(yTitle + " during training (smoothed; raw faint)", "optimizer step", yTitle);
        Map<String, List<double[]>> byMethod = new LinkedHashMap<>();
        if (training.columnNames().contains(metric)) {
            for (Row r : training) {
                double v = r.getDouble(metric);
                if (!Double.isNaN(v)) byMethod.computeIfAbsent(r.getString("method"), k -> new ArrayList<>()).add(new double[] {r.getInt("step"), v});
            }
        }
        boolean sftAxis = metric.equals("loss") && byMethod.containsKey("sft") && byMethod.size() > 1;
        List<Map.Entry<String, List<double[]>>> ordered = new ArrayList<>(byMethod.entrySet());
        ordered.sort(Map.Entry.comparingByKey(FigureStyle.METHOD_ORDER_COMPARATOR));
        double[][] range = {{Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}, {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}};
        int i = 0;
        for (var e : ordered) {
            double[] x = e.getValue().stream().mapToDouble(p -> p[0]).toArray();
            double[] y = e.getValue().stream().mapToDouble(p -> p[1]).toArray();
            java.awt.Color colour = FigureStyle.methodColor(e.getKey());
            int group = sftAxis && e.getKey().equals("sft") ? 1 : 0;
            for (double v : y) {
                range[group][0] = Math.min(range[group][0], v);
                range[group][1] = Math.max(range[group][1], v);
            }
            XYSeries raw = c.addSeries(e.getKey() + " (raw)", x, y);
            raw.setMarker(SeriesMarkers.NONE);
            raw.setLineColor(FigureStyle.faint(colour, 70));
            raw.setLineStyle(new BasicStroke(1f));
            raw.setShowInLegend(false);
            raw.setYAxisGroup(group);
            XYSeries s = c.addSeries(e.getKey(), x, ema(y));
            line(s, colour, i % 2 == 0 ? SeriesLines.SOLID : SeriesLines.DASH_DASH);
            s.setMarker(SeriesMarkers.NONE);
            s.setLabel(FigureStyle.methodLabel(e.getKey()) + (group == 1 ? " (right axis)" : ""));
            s.setYAxisGroup(group);
            i++;
        }
        if (sftAxis) {
            c.setYAxisGroupTitle(0, "preference " + yTitle);
            c.setYAxisGroupTitle(1, "SFT " + yTitle);
            c.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
            c.getStyler().putYAxisGroupDecimalPatternMap(1, FigureStyle.tickPattern(range[1][0], range[1][1]));
        }
        if (range[0][0] <= range[0][1]) {
            String p = FigureStyle.tickPattern(range[0][0], range[0][1]);
            c.getStyler().setYAxisDecimalPattern(p);
            c.getStyler().putYAxisGroupDecimalPatternMap(0, p);
        }
        c.getStyler().setXAxisDecimalPattern("0");
        c.getStyler().setXAxisMin(0.0);        // steps start at 1; from 0 the ticks land on round steps (0, 5, 10, ...)
        return fitted(c);
    }

    /** Exponential moving average with a span of about a tenth of the series (at least 3 points); starts at y[0]. */
    static double[] ema(double[] y) {
        double[] out = new double[y.length];
        if (y.length == 0) return out;
        double span = Math.max(3, y.length / 10.0), a = 2 / (span + 1);
        out[0] = y[0];
        for (int i = 1; i < y.length; i++) out[i] = a * y[i] + (1 - a) * out[i - 1];
        return out;
    }

    /** Stand-in text of a token whose text is unknown (no tokenizer at hand). */
    public static final String UNKNOWN_TOKEN = "·";

    /**
     * The CE heat map of one trajectory of {@link ctlab.analysis.RunTables#tokens()} (e.g. {@code p3/pair0/rejected}):
     * its tokens coloured by s_t on a fixed 0..1 scale, the rollout critical token marked when the trajectory was
     * rolled out and has one; render it with {@link TokenHeatMap#toHtml()} in notebooks or
     * {@link TokenHeatMapImage} for papers. Tokens without text show as {@value #UNKNOWN_TOKEN}.
     */
    public static TokenHeatMap ceHeatMap(ctlab.analysis.RunTables tables, String trajectory) {
        Table tokens = tables.tokens();
        Table rows = tokens.where(tokens.stringColumn("trajectory").isEqualTo(trajectory));
        if (rows.rowCount() == 0) throw new ctlab.CtlabException("no trajectory '" + trajectory + "' in the run's token table");
        List<String> texts = new ArrayList<>();
        double[] s = new double[rows.rowCount()];
        for (int i = 0; i < s.length; i++) {
            texts.add(rows.stringColumn("token").isMissing(i) ? UNKNOWN_TOKEN : rows.stringColumn("token").get(i));
            s[i] = rows.doubleColumn("s").get(i);
        }
        TokenHeatMap map = TokenHeatMap.of(texts, s).range(0, 1).title("CE scores s_t: " + trajectory);
        for (ctlab.analysis.RunTables.ScoredRollout sr : tables.scoredRollouts()) {
            int crit = sr.rollout().critical();
            if (sr.trajectory().equals(trajectory) && crit >= 0 && crit < s.length) map = map.mark(ROLLOUT_CRITICAL, crit);
        }
        List<ctlab.data.ScoredPair> pairs = tables.data().scoredPairs();
        for (int i = 0; i < pairs.size(); i++) {     // organism v2: the planted token of a rejected response that fell in
            ctlab.data.Planted planted = pairs.get(i).pair().rejectedPlanted();
            if (planted != null && planted.fellIn() && planted.position() < s.length
                    && ctlab.analysis.RunTables.pairTrajectoryId(pairs.get(i), i, "rejected").equals(trajectory))
                map = map.mark(PLANTED, planted.position());
        }
        return map;
    }

    /** Label of the rollout critical token's marking in heat maps. */
    public static final String ROLLOUT_CRITICAL = "rollout critical token";

    /** Label of the planted (ground-truth) critical token's marking in heat maps. */
    public static final String PLANTED = "planted trap token";

    /**
     * The run's example heat map: the first rolled-out trajectory with a critical token (marked), preferring one whose
     * rejected response fell into a planted trap (organism v2: both marks shown), else the first scored pair's
     * rejected response (a trapped one first).
     */
    public static TokenHeatMap ceHeatMap(ctlab.analysis.RunTables tables) {
        List<ctlab.data.ScoredPair> pairs = tables.data().scoredPairs();
        if (pairs.isEmpty()) throw new ctlab.CtlabException("no CE-scored pairs in the run (stage score-ce)");
        java.util.Set<String> trapped = new java.util.LinkedHashSet<>();
        for (int i = 0; i < pairs.size(); i++) {
            ctlab.data.Planted p = pairs.get(i).pair().rejectedPlanted();
            if (p != null && p.fellIn()) trapped.add(ctlab.analysis.RunTables.pairTrajectoryId(pairs.get(i), i, "rejected"));
        }
        String traj = trapped.isEmpty() ? ctlab.analysis.RunTables.pairTrajectoryId(pairs.get(0), 0, "rejected") : trapped.iterator().next();
        String rolled = null;
        for (ctlab.analysis.RunTables.ScoredRollout sr : tables.scoredRollouts()) {
            if (sr.rollout().critical() < 0) continue;
            if (trapped.contains(sr.trajectory())) return ceHeatMap(tables, sr.trajectory());
            if (rolled == null) rolled = sr.trajectory();
        }
        return ceHeatMap(tables, rolled != null ? rolled : traj);
    }

    /** Titles fitted at build time too: the notebook kernel renders charts without going through {@link #png}. */
    private static <C extends Chart<?, ?>> C fitted(C c) {
        FigureStyle.fitTitle(c);
        return c;
    }

    private static XYChart xy(String title, String x, String y) {
        return FigureStyle.apply(new XYChartBuilder().width(FigureStyle.WIDTH).height(FigureStyle.HEIGHT)
                .title(title).xAxisTitle(x).yAxisTitle(y).build());
    }

    private static XYSeries line(XYSeries s, java.awt.Color colour, BasicStroke stroke) {
        s.setLineColor(colour);
        s.setMarkerColor(colour);
        s.setLineStyle(new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 10f, stroke.getDashArray(), 0));
        s.setMarker(SeriesMarkers.CIRCLE);
        return s;
    }

    /** Boxed values for a category series, NaN (an empty group) drawn as 0. */
    private static List<Double> boxed(double[] v) {
        List<Double> out = new ArrayList<>(v.length);
        for (double d : v) out.add(Double.isNaN(d) ? 0.0 : d);
        return out;
    }

    // ------------------------------------------------------------------ export

    /** PNG bytes of a chart at {@code dpi} (72 = the chart's pixel size; 300 for print). */
    public static byte[] png(Chart<?, ?> chart, int dpi) {
        if (dpi < 36 || dpi > 1200) throw new IllegalArgumentException("dpi must be in 36..1200, got " + dpi);
        FigureStyle.fitTitle(chart);
        try {
            Path dir = Files.createTempDirectory("ctlab-fig");
            Path base = dir.resolve("figure");
            try {
                BitmapEncoder.saveBitmapWithDPI(chart, base.toString(), BitmapEncoder.BitmapFormat.PNG, dpi);
                return Files.readAllBytes(dir.resolve("figure.png"));
            } finally {
                Files.deleteIfExists(dir.resolve("figure.png"));
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("rendering PNG", e);
        }
    }

    /** SVG text of a chart (VectorGraphics2D through XChart). */
    public static String svg(Chart<?, ?> chart) {
        return new String(vector(chart, VectorGraphicsEncoder.VectorGraphicsFormat.SVG), StandardCharsets.UTF_8);
    }

    /** PDF bytes of a chart (vector, VectorGraphics2D through XChart): for LaTeX papers. */
    public static byte[] pdf(Chart<?, ?> chart) {
        return vector(chart, VectorGraphicsEncoder.VectorGraphicsFormat.PDF);
    }

    private static byte[] vector(Chart<?, ?> chart, VectorGraphicsEncoder.VectorGraphicsFormat format) {
        FigureStyle.fitTitle(chart);
        String ext = format.name().toLowerCase(Locale.ROOT);
        try {
            Path dir = Files.createTempDirectory("ctlab-fig");
            Path file = dir.resolve("figure." + ext);
            try {
                VectorGraphicsEncoder.saveVectorGraphic(chart, dir.resolve("figure").toString(), format);
                return Files.readAllBytes(file);
            } finally {
                Files.deleteIfExists(file);
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("rendering " + format, e);
        }
    }

    /**
     * Writes a chart atomically in the format its file name ends with: {@code .png} (300 DPI, for screens and
     * slides), {@code .svg} or {@code .pdf} (vector, for papers). Any other ending is an error naming the file.
     */
    public static Path save(Chart<?, ?> chart, Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".png")) savePng(chart, file, 300);
        else if (name.endsWith(".svg")) saveSvg(chart, file);
        else if (name.endsWith(".pdf")) {
            byte[] b = pdf(chart);
            AtomicFiles.write(file, out -> out.write(b));
        } else throw new ctlab.CtlabException(file + ": unknown figure format (use .png, .svg or .pdf)");
        return file;
    }

    /** Writes a chart atomically as PNG at {@code dpi}. */
    public static void savePng(Chart<?, ?> chart, Path file, int dpi) {
        byte[] bytes = png(chart, dpi);
        AtomicFiles.write(file, out -> out.write(bytes));
    }

    /** Writes a chart atomically as SVG. */
    public static void saveSvg(Chart<?, ?> chart, Path file) {
        AtomicFiles.writeString(file, svg(chart));
    }
}

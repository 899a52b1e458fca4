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

    /** pass@k with vs without the critical token (paper Fig. 1/2/5) from {@code Analyses.passAtK}. */
    public static XYChart passAtK(Table passAtK) {
        XYChart c = xy("pass@k with vs without the critical token", "k (continuations sampled)", "pass@k");
        if (passAtK.rowCount() > 0) {
            double[] k = passAtK.intColumn("k").asDoubleArray();
            int n = passAtK.intColumn("trajectories").get(0);
            line(c.addSeries("critical token kept", k, passAtK.doubleColumn("pass_with").asDoubleArray()), 0, SeriesLines.SOLID);
            line(c.addSeries("critical token replaced", k, passAtK.doubleColumn("pass_without").asDoubleArray()), 1, SeriesLines.DASH_DASH);
            c.setTitle("pass@k with vs without the critical token (" + n + (n == 1 ? " trajectory)" : " trajectories)"));
        }
        c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0).setXAxisMin(1.0);
        c.getStyler().setXAxisDecimalPattern("0");
        return c;
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
            c.setXAxisTitle(String.format(Locale.ROOT, "s_t (bin centre, bin width %.3g)", width));
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
        return c;
    }

    /** ROC of CE against rollout labels from {@code Analyses.roc}, with the chance diagonal and the AUROC in the legend. */
    public static XYChart roc(Table roc, double auroc) {
        XYChart c = xy("ROC of CE score against rollout critical tokens", "false positive rate", "true positive rate");
        c.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0);
        XYSeries chance = c.addSeries("chance", new double[] {0, 1}, new double[] {0, 1});
        chance.setMarker(SeriesMarkers.NONE);
        chance.setLineColor(FigureStyle.GREY);
        chance.setLineStyle(SeriesLines.DASH_DASH);
        if (roc.rowCount() > 0) {
            line(c.addSeries(String.format(Locale.ROOT, "1 − s_t (AUROC %.3f)", auroc),
                    roc.doubleColumn("fpr").asDoubleArray(), roc.doubleColumn("tpr").asDoubleArray()), 0, SeriesLines.SOLID)
                    .setMarker(SeriesMarkers.NONE);
        }
        return c;
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
            bar.setFillColor(FigureStyle.color(i));
            bar.setLineColor(FigureStyle.color(i));
            bar.setLineStyle(SeriesLines.SOLID);
            top = Math.max(top, hi);
            // method names above the whiskers: XChart places XY tick labels on its own grid, not at the bars
            AnnotationText label = new AnnotationText(r.getString("method"), i, hi + 0.045, false);
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
        return c;
    }

    private static void whisker(XYChart c, String name, double[] x, double[] y) {
        XYSeries w = c.addSeries(name, x, y);
        w.setMarker(SeriesMarkers.NONE);
        w.setLineColor(FigureStyle.BLACK);
        w.setLineStyle(new BasicStroke(1.6f));
        w.setShowInLegend(false);
    }

    /** A training metric per step, one line per method, from {@code RunTables.trainingMetrics}. */
    public static XYChart trainingCurve(Table training, String metric, String yTitle) {
        XYChart c = xy(yTitle + " during preference training", "optimizer step", yTitle);
        Map<String, List<double[]>> byMethod = new LinkedHashMap<>();
        if (training.columnNames().contains(metric)) {
            for (Row r : training) {
                double v = r.getDouble(metric);
                if (!Double.isNaN(v)) byMethod.computeIfAbsent(r.getString("method"), k -> new ArrayList<>()).add(new double[] {r.getInt("step"), v});
            }
        }
        int i = 0;
        for (var e : byMethod.entrySet()) {
            double[] x = e.getValue().stream().mapToDouble(p -> p[0]).toArray();
            double[] y = e.getValue().stream().mapToDouble(p -> p[1]).toArray();
            XYSeries s = c.addSeries(e.getKey(), x, y);
            line(s, i, i % 2 == 0 ? SeriesLines.SOLID : SeriesLines.DASH_DASH);
            if (x.length > 30) s.setMarker(SeriesMarkers.NONE);
            i++;
        }
        c.getStyler().setXAxisDecimalPattern("0");
        return c;
    }

    /** Stand-in text of a token whose text is unknown (no tokenizer at hand). */
    public static final String UNKNOWN_TOKEN = "·";

    /**
     * The CE heat map of one trajectory of {@link ctlab.analysis.RunTables#tokens()} (e.g. {@code p3/pair0/rejected}):
     * its tokens coloured by s_t on a fixed 0..1 scale; render it with {@link TokenHeatMap#toHtml()} in notebooks
     * or {@link TokenHeatMapImage} for papers. Tokens without text show as {@value #UNKNOWN_TOKEN}.
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
        return TokenHeatMap.of(texts, s).range(0, 1).title("CE scores s_t: " + trajectory);
    }

    private static XYChart xy(String title, String x, String y) {
        return FigureStyle.apply(new XYChartBuilder().width(FigureStyle.WIDTH).height(FigureStyle.HEIGHT)
                .title(title).xAxisTitle(x).yAxisTitle(y).build());
    }

    private static XYSeries line(XYSeries s, int colour, BasicStroke stroke) {
        s.setLineColor(FigureStyle.color(colour));
        s.setMarkerColor(FigureStyle.color(colour));
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
        try {
            Path dir = Files.createTempDirectory("ctlab-fig");
            Path file = dir.resolve("figure.svg");
            try {
                VectorGraphicsEncoder.saveVectorGraphic(chart, dir.resolve("figure").toString(),
                        VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
                return Files.readString(file, StandardCharsets.UTF_8);
            } finally {
                Files.deleteIfExists(file);
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("rendering SVG", e);
        }
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

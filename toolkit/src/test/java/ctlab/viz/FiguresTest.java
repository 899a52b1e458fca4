package ctlab.viz;

import ctlab.analysis.Analyses;
import ctlab.analysis.RunData;
import ctlab.analysis.RunTables;
import ctlab.analysis.SyntheticRuns;
import ctlab.critical.Agreement;
import ctlab.critical.RolloutProbe;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.internal.chartpart.Chart;
import org.w3c.dom.Document;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Every figure renders to PNG (at the asked DPI, not blank) and to well-formed SVG. */
class FiguresTest {
    @TempDir static Path tmp;
    static RunTables tables;

    @BeforeAll static void run() throws Exception {
        tables = new RunTables(RunData.load(SyntheticRuns.write(tmp.resolve("run"), 12, 8)), SyntheticRuns.TEXTS);
    }

    static Map<String, Chart<?, ?>> charts() {
        Map<String, Chart<?, ?>> c = new LinkedHashMap<>();
        c.put("pass-at-k", Figures.passAtK(Analyses.passAtK(tables.data().rollouts())));
        RolloutProbe.Result one = tables.data().rollouts().get(0);
        org.knowm.xchart.XYChart single = Figures.passAtK(Analyses.passAtK(List.of(one)));
        single.setTitle("pass@k of trajectory " + one.trajectoryId() + " at its critical token (position " + one.critical() + ")");
        c.put("pass-at-k-example", single);
        c.put("ce-histogram", Figures.ceHistogram(Analyses.ceHistogram(tables.tokens(), 10)));
        double auroc = Analyses.agreement(tables).doubleColumn("pooled_auroc").get(0);
        c.put("roc", Figures.roc(Analyses.roc(tables, RolloutProbe.Rule.FIRST_DROP, Agreement.Labels.CRITICAL), auroc));
        c.put("methods", Figures.methodComparison(Analyses.methodComparison(tables.data().evals(), 1)));
        c.put("training-loss", Figures.trainingCurve(tables.trainingMetrics(), "loss", "loss"));
        c.put("training-margin", Figures.trainingCurve(tables.trainingMetrics(), "rewards/margins", "reward margin"));
        c.put("accuracy-by-trap", Figures.accuracyBySubset(Analyses.trapSplit(tables.data().evals()), "accuracy"));
        return c;
    }

    @Test void everyChartExportsPngAtDpiAndSvg() throws Exception {
        Path out = outDir();
        for (var e : charts().entrySet()) {
            byte[] png72 = Figures.png(e.getValue(), 72), png150 = Figures.png(e.getValue(), 150);
            BufferedImage a = ImageIO.read(new ByteArrayInputStream(png72)), b = ImageIO.read(new ByteArrayInputStream(png150));
            assertEquals(FigureStyle.WIDTH, a.getWidth(), e.getKey());
            assertEquals(Math.round(FigureStyle.WIDTH * 150 / 72.0), b.getWidth(), 1, e.getKey());
            assertTrue(Pixels.stddev(a) > 10, e.getKey() + " is blank");
            String svg = Figures.svg(e.getValue());
            Document doc = xml(svg);
            assertEquals("svg", doc.getDocumentElement().getNodeName(), e.getKey());
            Figures.savePng(e.getValue(), out.resolve(e.getKey() + ".png"), 150);
            Figures.saveSvg(e.getValue(), out.resolve(e.getKey() + ".svg"));
            assertTrue(Files.size(out.resolve(e.getKey() + ".png")) > 1000);
        }
    }

    @Test void heatMapImageDrawsTokensColouredByScore() throws Exception {
        var row = tables.scoredRollouts().get(0);
        List<String> toks = SyntheticRuns.TEXTS.split(tables.data().scoredPairs().get(0).rejected());
        TokenHeatMap map = TokenHeatMap.of(toks, row.s()).range(0, 1);
        TokenHeatMapImage img = new TokenHeatMapImage(map, "CE scores of a rejected response", "s_t (CE score)", 640);
        BufferedImage png = ImageIO.read(new ByteArrayInputStream(img.png(144)));
        assertEquals(1280, png.getWidth());
        assertTrue(Pixels.stddev(png) > 10);
        // the critical token's box has the colour of its (low) score: find that colour in the image
        int crit = row.rollout().critical();
        int rgb = Integer.parseInt(map.colorOf(row.s()[crit]).substring(1), 16);
        assertTrue(Pixels.count(png, rgb) > 50, "box of the critical token drawn in its colour");
        String svg = img.svg();
        assertEquals("svg", xml(svg).getDocumentElement().getNodeName());
        assertTrue(svg.contains(">owed</text>"));
        assertTrue(svg.contains("fill=\"" + map.colorOf(row.s()[crit]) + "\""));
        img.savePng(outDir().resolve("heatmap.png"), 144);
        img.saveSvg(outDir().resolve("heatmap.svg"));
    }

    @Test void ceHeatMapOfATrajectoryFromTheTokenTable() {
        TokenHeatMap map = Figures.ceHeatMap(tables, "p0/pair0/rejected");
        double[] s = tables.data().scoredPairs().get(0).neg().responseScores();
        assertArrayEquals(s, map.scores(), 0);
        assertEquals(SyntheticRuns.TEXTS.split(tables.data().scoredPairs().get(0).rejected()), map.tokens());
        assertEquals(0, map.min());
        assertEquals(1, map.max());
        assertTrue(map.toHtml().contains("owed"));
        assertThrows(ctlab.CtlabException.class, () -> Figures.ceHeatMap(tables, "nope"));
    }

    static Document xml(String svg) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", false);
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    /** Where figures land for a look: -Dctlab.figures.out=DIR, else a temp folder. */
    static Path outDir() throws Exception {
        String p = System.getProperty("ctlab.figures.out");
        Path d = p == null ? tmp.resolve("figures") : Path.of(p);
        Files.createDirectories(d);
        return d;
    }

    @Test void accuracyBySubsetDrawsOneLegendEntryPerSubsetAndAWhiskerPerInterval() {
        tech.tablesaw.api.Table t = tech.tablesaw.api.Table.create("t",
                tech.tablesaw.api.StringColumn.create("method", "dpo", "base", "base", "dpo"),
                tech.tablesaw.api.StringColumn.create("subset", "all", "all", "trap", "trap"),
                tech.tablesaw.api.DoubleColumn.create("accuracy", 0.8, 0.7, 0.3, 0.5),
                tech.tablesaw.api.DoubleColumn.create("lower", 0.7, 0.6, Double.NaN, 0.4),
                tech.tablesaw.api.DoubleColumn.create("upper", 0.9, 0.8, Double.NaN, 0.6));
        org.knowm.xchart.XYChart c = Figures.accuracyBySubset(t, "accuracy");
        var series = c.getSeriesMap();
        assertEquals(List.of("all", "trap"), series.values().stream().filter(s -> s.isShowInLegend()).map(s -> s.getName()).toList());
        // 4 bars; whiskers (bar, lo and hi caps) only for the 3 rows with an interval
        assertEquals(4 + 3 * 3, series.size());
        assertEquals(0.4, series.get("trap dpo CI").getYMin(), 1e-12);
        // base is drawn first (Table 1 order): its "all" bar spans x < 0.5, dpo's x > 0.5
        assertTrue(series.get("all").getXMax() < 0.5 && series.get("all dpo").getXMin() > 0.5);
    }
}

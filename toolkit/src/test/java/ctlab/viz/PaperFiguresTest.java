package ctlab.viz;

import ctlab.analysis.Analyses;
import ctlab.analysis.RunData;
import ctlab.analysis.RunTables;
import ctlab.analysis.SyntheticRuns;
import ctlab.critical.RolloutProbe;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.awt.Color;
import java.awt.Font;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Paper-quality rules of the figures: fixed method colours, own SFT axis, smoothing, log k, no clipping, vector output. */
class PaperFiguresTest {
    @TempDir static Path tmp;
    static RunTables tables;

    @BeforeAll static void run() throws Exception {
        tables = new RunTables(RunData.load(SyntheticRuns.write(tmp.resolve("run"), 12, 8)), SyntheticRuns.TEXTS);
    }

    @Test void everyMethodHasOneFixedColourThatIsNeverBlack() {
        for (String m : List.of("base", "sft", "dpo", "rpo", "tokendpo", "cdpo", "cdpo-official", "some-new-loss")) {
            assertEquals(FigureStyle.methodColor(m), FigureStyle.methodColor(m), m);
            assertNotEquals(Color.BLACK, FigureStyle.methodColor(m), m + ": black bars hide the black error bars");
        }
        assertNotEquals(FigureStyle.methodColor("dpo"), FigureStyle.methodColor("cdpo"));
        // the same colour in the bar chart and in the training curves, whatever the order of methods
        XYChart bars = Figures.methodComparison(Analyses.methodComparison(tables.data().evals(), 1));
        XYChart curves = Figures.trainingCurve(tables.trainingMetrics(), "loss", "loss");
        for (String m : List.of("dpo", "cdpo")) {
            assertEquals(FigureStyle.methodColor(m), bars.getSeriesMap().get(m).getFillColor(), m);
            assertEquals(FigureStyle.methodColor(m), curves.getSeriesMap().get(m).getLineColor(), m);
        }
    }

    @Test void trainingCurvesAreSmoothedWithTheRawOnesFaint() {
        XYChart c = Figures.trainingCurve(tables.trainingMetrics(), "loss", "loss");
        XYSeries smooth = c.getSeriesMap().get("dpo"), raw = c.getSeriesMap().get("dpo (raw)");
        assertNotNull(raw, "raw curve kept");
        assertFalse(raw.isShowInLegend());
        assertTrue(raw.getLineColor().getAlpha() < 128, "raw curve faint");
        assertEquals(255, smooth.getLineColor().getAlpha());
        double[] r = raw.getYData(), s = smooth.getYData();
        assertEquals(r.length, s.length);
        assertEquals(r[0], s[0], 1e-12, "EMA starts at the first value");
        assertTrue(roughness(s) < roughness(r), "smoothed curve is smoother");
    }

    private static double roughness(double[] y) {
        double sum = 0;
        for (int i = 1; i < y.length; i++) sum += Math.abs(y[i] - y[i - 1]);
        return sum;
    }

    @Test void sftLossHasItsOwnAxis() {
        Table t = Table.create("training", StringColumn.create("method", "sft", "sft", "sft", "dpo", "dpo", "dpo"),
                tech.tablesaw.api.IntColumn.create("step", 1, 2, 3, 1, 2, 3),
                DoubleColumn.create("loss", 2.5, 2.1, 1.9, 0.69, 0.6, 0.5));
        XYChart c = Figures.trainingCurve(t, "loss", "loss");
        assertEquals(1, c.getSeriesMap().get("sft").getYAxisGroup(), "SFT's NLL is on another scale than the preference losses");
        assertEquals(0, c.getSeriesMap().get("dpo").getYAxisGroup());
        assertEquals("SFT loss", c.getYAxisGroupTitle(1));
    }

    @Test void passAtKHasALogScaleK() {
        XYChart c = Figures.passAtK(Analyses.passAtK(tables.data().rollouts()));
        assertTrue(c.getStyler().isXAxisLogarithmic());
        assertFalse(c.getStyler().isXAxisLogarithmicDecadeOnly(), "k = 1..8 needs ticks between decades");
    }

    @Test void passAtKExamplePicksTheTrajectoryWithTheLargestGap() {
        List<RolloutProbe.Result> rs = new ArrayList<>(tables.data().rollouts());
        // a flat trajectory first: keeping or replacing the token changes nothing
        RolloutProbe.Result flat = flat(rs.get(0));
        rs.add(0, flat);
        RolloutProbe.Result best = Figures.largestGap(rs).orElseThrow();
        double bestGap = gap(best);
        for (RolloutProbe.Result r : rs) if (r.critical() >= 0) assertTrue(gap(r) <= bestGap, r.trajectoryId());
        assertTrue(bestGap > 0);
        XYChart c = Figures.passAtKExample(rs);
        assertTrue(c.getTitle().contains(best.trajectoryId()), c.getTitle());
        double[] with = c.getSeriesMap().get("critical token kept").getYData(),
                without = c.getSeriesMap().get("critical token replaced").getYData();
        assertTrue(Math.abs(with[with.length - 1] - without[without.length - 1]) > 0.5, "two lines apart, not flat at 0");
    }

    static double gap(RolloutProbe.Result r) {
        double g = 0;
        for (int i = 0; i < r.k(); i++) g += Math.abs(r.passAtKWith()[i] - r.passAtKWithout()[i]);
        return g;
    }

    static RolloutProbe.Result flat(RolloutProbe.Result r) {
        List<RolloutProbe.TokenRow> rows = new ArrayList<>();
        for (RolloutProbe.TokenRow t : r.tokens())
            rows.add(new RolloutProbe.TokenRow(t.position(), t.tokenId(), t.token(), t.prob(), 0, r.k(), 0, r.k()));
        return new RolloutProbe.Result("flat/0", r.responseLength(), r.k(), 0, r.critical(), r.critical(), 0, 0, 1, rows);
    }

    @Test void longTitlesShrinkInsteadOfBeingClipped() {
        XYChart c = Figures.passAtK(Analyses.passAtK(tables.data().rollouts()));
        c.setTitle("pass@k of trajectory p3/pair0/rejected at its critical token (position 12) with a much longer tail");
        Figures.png(c, 72);
        Font f = c.getStyler().getChartTitleFont();
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        int w = probe.createGraphics().getFontMetrics(f).stringWidth(c.getTitle());
        assertTrue(w <= FigureStyle.WIDTH - 2 * c.getStyler().getChartPadding(), "title " + w + " px wide in a " + FigureStyle.WIDTH + " px chart");
    }

    @Test void builtChartsAlreadyFitTheirTitle() {
        RolloutProbe.Result r = tables.data().rollouts().get(0);
        RolloutProbe.Result longId = new RolloutProbe.Result("problem-with-a-rather-long-identifier-0123456789/pair0/rejected/0",
                r.responseLength(), r.k(), r.baselineCorrect(), r.critical(), r.criticalOfficial(), 0, 0, 1, r.tokens());
        XYChart c = Figures.passAtKExample(List.of(longId));     // as a notebook shows it: no png() call in between
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        int w = probe.createGraphics().getFontMetrics(c.getStyler().getChartTitleFont()).stringWidth(c.getTitle());
        assertTrue(w <= FigureStyle.WIDTH - 2 * c.getStyler().getChartPadding(), c.getTitle() + ": " + w + " px");
    }

    @Test void barHelperBuildsAStyledChartFromATable() {
        Table t = Table.create("share", StringColumn.create("cls", "digit", "word"), DoubleColumn.create("v", 0.25, 0.75));
        CategoryChart c = Figures.bars(t, "cls", "v", "Critical tokens by class", "share of critical tokens");
        assertEquals("Critical tokens by class", c.getTitle());
        assertEquals(Color.WHITE, c.getStyler().getChartBackgroundColor(), "the ctlab theme, not XChart's grey");
        assertEquals(List.of(0.25, 0.75), c.getSeriesMap().values().iterator().next().getYData());
        assertThrows(ctlab.CtlabException.class, () -> Figures.bars(t, "nope", "v", "x", "y"));
    }

    @Test void saveWritesPngSvgOrPdfByExtension() throws Exception {
        XYChart c = Figures.roc(Analyses.roc(tables, RolloutProbe.Rule.FIRST_DROP, ctlab.critical.Agreement.Labels.CRITICAL), 0.9);
        Path dir = tmp.resolve("vector");
        Figures.save(c, dir.resolve("roc.pdf"));
        Figures.save(c, dir.resolve("roc.svg"));
        Figures.save(c, dir.resolve("roc.png"));
        assertEquals("%PDF", new String(Files.readAllBytes(dir.resolve("roc.pdf")), 0, 4, StandardCharsets.ISO_8859_1));
        assertTrue(Files.readString(dir.resolve("roc.svg")).contains("<svg"));
        assertEquals(Math.round(FigureStyle.WIDTH * 300 / 72.0),
                javax.imageio.ImageIO.read(dir.resolve("roc.png").toFile()).getWidth(), 1, "PNG at 300 dpi");
        ctlab.CtlabException e = assertThrows(ctlab.CtlabException.class, () -> Figures.save(c, dir.resolve("roc.bmp")));
        assertTrue(e.getMessage().contains("roc.bmp"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("roc.bmp")));
    }

    @Test void ticksOfAnAxisShareOneNumberOfDecimals() {
        assertEquals("0.000", FigureStyle.tickPattern(0.69, 0.73));
        assertEquals("0.0", FigureStyle.tickPattern(0, 0.75));
        assertEquals("0.0", FigureStyle.tickPattern(0, 1));
        assertEquals("0", FigureStyle.tickPattern(0, 300));
        XYChart c = Figures.trainingCurve(tables.trainingMetrics(), "rewards/accuracies", "reward accuracy");
        assertTrue(c.getStyler().getYAxisDecimalPattern().matches("0(\\.0+)?"),
                "one fixed number of decimals (0.0, 0.1, ... rather than 0, 0.1, ...): " + c.getStyler().getYAxisDecimalPattern());
    }

    @Test void methodsAppearInPaperOrder() {
        Table t = Table.create("training", StringColumn.create("method", "cdpo", "dpo", "base"),
                tech.tablesaw.api.IntColumn.create("step", 1, 1, 1), DoubleColumn.create("loss", 0.6, 0.7, 0.8));
        List<String> names = Figures.trainingCurve(t, "loss", "loss").getSeriesMap().keySet().stream()
                .filter(n -> !n.endsWith("(raw)")).toList();
        assertEquals(List.of("base", "dpo", "cdpo"), names);
    }
}

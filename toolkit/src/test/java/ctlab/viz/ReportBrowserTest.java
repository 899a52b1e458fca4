package ctlab.viz;

import ctlab.analysis.SyntheticRuns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Opens the report in headless Chromium (Debian package {@code chromium}) and checks that it renders: every
 * embedded image decoded (naturalWidth &gt; 0, recorded into the DOM by the report's load handler) and a
 * screenshot that is not blank. Skips when no Chromium is installed.
 */
@Tag("slow")
class ReportBrowserTest {
    @TempDir Path tmp;

    static Optional<String> chromium() {
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                if (Files.isExecutable(Path.of(dir, name))) return Optional.of(Path.of(dir, name).toString());
            }
        }
        return Optional.empty();
    }

    private String run(String browser, Path profile, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(browser, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                "--user-data-dir=" + profile));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).redirectError(tmp.resolve("chromium.err").toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish");
        assertEquals(0, p.exitValue(), () -> "chromium failed: " + read(tmp.resolve("chromium.err")));
        return new String(out, StandardCharsets.UTF_8);
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (Exception e) {
            return "";
        }
    }

    @Test void reportRendersItsFiguresInChromium() throws Exception {
        Optional<String> browser = chromium();
        Assumptions.assumeTrue(browser.isPresent(), "skipped: no chromium on PATH (Debian: apt-get install -y chromium)");
        Path run = SyntheticRuns.write(tmp.resolve("run"), 8, 8);
        Path report = RunReport.write(run, tmp.resolve("report.html"), new RunReport.Options(72, 0, SyntheticRuns.TEXTS));
        String url = report.toUri().toString();

        String dom = run(browser.get(), tmp.resolve("profile1"), "--virtual-time-budget=10000", "--dump-dom", url);
        Matcher m = Pattern.compile("data-images=\"(\\d+)/(\\d+)\"").matcher(dom);
        assertTrue(m.find(), "the page's load handler ran");
        assertEquals(11, Integer.parseInt(m.group(2)));
        assertEquals(m.group(2), m.group(1), "every embedded figure decoded");

        Path shot = tmp.resolve("shot.png");
        run(browser.get(), tmp.resolve("profile2"), "--window-size=1200,2400", "--screenshot=" + shot, url);
        BufferedImage img = ImageIO.read(shot.toFile());
        assertNotNull(img, "screenshot is a PNG");
        assertEquals(1200, img.getWidth());
        assertTrue(Pixels.stddev(img) > 20, "screenshot not blank (grey-level sd " + Pixels.stddev(img) + ")");
        String keep = System.getProperty("ctlab.figures.out");
        if (keep != null) {            // for a human look at the page
            Files.copy(shot, Path.of(keep).resolve("report-screenshot.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.copy(report, Path.of(keep).resolve("report.html"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Every figure the toolkit draws (report figures, notebook helpers, the heat map as image and as HTML), each in
     * its vector form (SVG) on a page of its own, rendered by Chromium: a screenshot per figure, none blank.
     */
    @Test void everyFigureRendersInChromium() throws Exception {
        Optional<String> browser = chromium();
        Assumptions.assumeTrue(browser.isPresent(), "skipped: no chromium on PATH (Debian: apt-get install -y chromium)");
        var tables = new ctlab.analysis.RunTables(ctlab.analysis.RunData.load(SyntheticRuns.write(tmp.resolve("run"), 8, 8)), SyntheticRuns.TEXTS);
        var rs = tables.data().rollouts();
        java.util.Map<String, String> svgs = new java.util.LinkedHashMap<>();
        java.util.Map<String, org.knowm.xchart.internal.chartpart.Chart<?, ?>> charts = new java.util.LinkedHashMap<>();
        charts.put("pass-at-k", Figures.passAtK(ctlab.analysis.Analyses.passAtK(rs)));
        charts.put("pass-at-k-example", Figures.passAtKExample(rs));
        charts.put("rollout-rates", Figures.rolloutRates(Figures.largestGap(rs).orElseThrow()));
        charts.put("ce-histogram", Figures.ceHistogram(ctlab.analysis.Analyses.ceHistogram(tables.tokens(), 20)));
        charts.put("roc", Figures.roc(ctlab.analysis.Analyses.roc(tables, ctlab.critical.RolloutProbe.Rule.FIRST_DROP,
                ctlab.critical.Agreement.Labels.CRITICAL), 0.8));
        charts.put("critical-by-class", Figures.criticalByClass(ctlab.analysis.Analyses.criticalByClass(tables.tokens())));
        charts.put("method-comparison", Figures.methodComparison(ctlab.analysis.Analyses.methodComparison(tables.data().evals(), 0)));
        for (String metric : List.of("loss", "rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected")) {
            charts.put("training-" + metric.replace('/', '-'), Figures.trainingCurve(tables.trainingMetrics(), metric, metric));
        }
        charts.forEach((name, chart) -> svgs.put(name, Figures.svg(chart)));
        TokenHeatMap heat = Figures.ceHeatMap(tables);
        svgs.put("ce-heatmap", new TokenHeatMapImage(heat, "CE heat map", "s_t", 900).svg());
        String keep = System.getProperty("ctlab.figures.out");
        int shots = 0;
        for (var e : svgs.entrySet()) {
            Path svg = tmp.resolve(e.getKey() + ".svg");
            Files.writeString(svg, e.getValue());
            Path page = tmp.resolve(e.getKey() + ".html");
            Files.writeString(page, "<!DOCTYPE html><html><body style=\"margin:0;background:#fff\"><img src=\"" + svg.getFileName()
                    + "\" style=\"width:900px\"></body></html>");
            shots += screenshot(browser.get(), page, e.getKey(), keep);
        }
        Path html = tmp.resolve("ce-heatmap-html.html");
        Files.writeString(html, heat.toHtmlPage());
        shots += screenshot(browser.get(), html, "ce-heatmap-html", keep);
        assertEquals(svgs.size() + 1, shots);
    }

    private int screenshot(String browser, Path page, String name, String keep) throws Exception {
        Path shot = tmp.resolve(name + "-shot.png");
        run(browser, tmp.resolve("profile-" + name), "--window-size=960,720", "--screenshot=" + shot, page.toUri().toString());
        BufferedImage img = ImageIO.read(shot.toFile());
        assertNotNull(img, name + ": screenshot is a PNG");
        assertTrue(Pixels.stddev(img) > 10, name + ": screenshot not blank (grey-level sd " + Pixels.stddev(img) + ")");
        if (keep != null) Files.copy(shot, Path.of(keep).resolve(name + "-chromium.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return 1;
    }
}

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
}

package ctlab.viz;

import ctlab.analysis.SyntheticRuns;
import ctlab.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

class RunReportTest {
    @TempDir Path tmp;

    static int count(String s, String needle) {
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) n++;
        return n;
    }

    @Test void fullRunHasEverySectionAndFiguresAndIsSelfContained() throws Exception {
        Path run = SyntheticRuns.write(tmp.resolve("run"), 10, 8);
        Path out = RunReport.write(run, tmp.resolve("r.html"), new RunReport.Options(72, 3, SyntheticRuns.TEXTS));
        String html = Files.readString(out);
        assertFalse(html.contains("Partial run"));
        for (String id : new String[] {"stages", "config", "environment", "selection", "contrastive", "rollout", "agreement", "training", "evaluation"}) {
            assertTrue(html.contains("<h2 id=\"" + id + "\""), id);
        }
        // heat map, CE histogram, pass@k (mean and one trajectory), ROC, 5 training curves, method bars
        assertEquals(11, count(html, "src=\"data:image/png;base64,"));
        assertFalse(Pattern.compile("(src|href)=\"(https?:|file:|/)").matcher(html).find(), "no external resources");
        assertTrue(html.contains("seed: 1234"), "config shown");
        assertTrue(html.contains("2.7.1") && html.contains("0.36.0"), "versions from DONE markers");
        assertTrue(html.contains(">owed<"), "token texts in the interactive heat map");
        assertTrue(html.contains("mcnemar_p_vs_base"));
    }

    @Test void partialRunIsLabelledAndOmitsLaterSections() throws Exception {
        Path run = SyntheticRuns.write(tmp.resolve("run"), 4, 2);
        Files.createDirectories(run.resolve("03-train-pos"));          // started, cut off
        String html = RunReport.html(run, new RunReport.Options(72, 0, null));
        assertTrue(html.contains("Partial run"));
        Matcher m = Pattern.compile("Not finished: ([^.]*)\\.").matcher(html);
        assertTrue(m.find());
        assertEquals("train-pos, train-neg, score-ce, rollout, train, eval", m.group(1));
        assertTrue(html.contains("started, not finished"));
        assertTrue(html.contains("<h2 id=\"selection\""));
        assertFalse(html.contains("<h2 id=\"contrastive\""));
        assertFalse(html.contains("<h2 id=\"evaluation\""));
        assertEquals(0, count(html, "<img"));
    }

    @Test void cliWritesTheReportAndRejectsAMissingRunDir() throws Exception {
        Path run = SyntheticRuns.write(tmp.resolve("run"), 3, 6);
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        assertEquals(0, cl.execute("report", run.toString(), "--dpi", "72"));
        assertTrue(Files.exists(run.resolve("report.html")));
        assertTrue(out.toString().contains("report written to"));
        assertTrue(Files.readString(run.resolve("report.html")).contains("Partial run"));
        Path figs = tmp.resolve("figs");
        assertEquals(0, cl.execute("report", run.toString(), "--dpi", "72", "--figures", figs.toString(), "--figures-dpi", "144"));
        for (String f : new String[] {"ce-heatmap", "ce-histogram", "pass-at-k", "pass-at-k-example", "roc"}) {
            java.awt.image.BufferedImage png = javax.imageio.ImageIO.read(figs.resolve(f + ".png").toFile());
            assertTrue(png.getWidth() >= 1280, f + " at 144 dpi is twice its point width");
            assertTrue(Files.readString(figs.resolve(f + ".svg")).contains("<svg"), f);
            assertEquals("%PDF", new String(Files.readAllBytes(figs.resolve(f + ".pdf")), 0, 4, java.nio.charset.StandardCharsets.ISO_8859_1), f);
        }
        assertFalse(Files.exists(figs.resolve("method-comparison.png")), "stage 8 absent: no method figure");
        assertEquals(2, cl.execute("report", run.toString(), "--figures-dpi", "5"));
        assertEquals(2, cl.execute("report", tmp.resolve("nope").toString()));
        assertTrue(err.toString().contains("nope: no such run directory"), err.toString());
    }

    @Test void resultsComeFirstAndProvenanceIsCollapsedAtTheEnd() throws Exception {
        Path run = SyntheticRuns.write(tmp.resolve("run"), 10, 8);
        String html = RunReport.html(run, new RunReport.Options(72, 3, SyntheticRuns.TEXTS));
        int results = html.indexOf("<table class=\"table1\""), selection = html.indexOf("<h2 id=\"selection\"");
        assertTrue(results > 0 && results < selection, "Table 1 before the sections");
        assertTrue(results < html.indexOf("<h2 id=\"stages\""), "Table 1 is the first table");
        String table1 = html.substring(results, html.indexOf("</table>", results));
        assertTrue(table1.contains("Accuracy (%)") && table1.contains("Δ vs Base") && table1.contains(">p<"), table1);
        assertTrue(table1.contains("cDPO") && table1.contains("DPO") && table1.contains("Base"), "paper method names");
        assertTrue(Pattern.compile(">\\d{1,3}\\.\\d <span class=\"ci\">\\[\\d{1,3}\\.\\d, \\d{1,3}\\.\\d\\]</span><").matcher(table1).find(),
                "accuracy in % with its 95% interval: " + table1);
        int evaluation = html.indexOf("<h2 id=\"evaluation\"");
        for (String id : new String[] {"config", "environment", "seeds"}) {
            int at = html.indexOf("<h2 id=\"" + id + "\"");
            assertTrue(at > evaluation, id + " after the results sections");
            String before = html.substring(0, at);
            assertTrue(before.lastIndexOf("<details") > before.lastIndexOf("</details>"), id + " collapsed in <details>");
        }
    }

    @Test void smallRolloutResolutionIsNotedVisibly() throws Exception {
        Path run = SyntheticRuns.write(tmp.resolve("run"), 10, 8);
        String html = RunReport.html(run, new RunReport.Options(72, 3, SyntheticRuns.TEXTS));
        Matcher m = Pattern.compile("<div class=\"caveat\">([^<]*)").matcher(html);
        assertTrue(m.find(), "a visible note");
        assertTrue(m.group(1).contains("10 trajectories") && m.group(1).contains("k = 8"), m.group(1));
        assertTrue(m.start() < html.indexOf("<h2 id=\"selection\""), "next to the results");
        // a rollout at paper resolution gets no note
        var rows = new java.util.ArrayList<ctlab.critical.RolloutProbe.TokenRow>();
        for (int i = 0; i < 50; i++) rows.add(new ctlab.critical.RolloutProbe.TokenRow(i, i, "t", 0.5, 3, 64, 60, 64));
        var big = new java.util.ArrayList<ctlab.critical.RolloutProbe.Result>();
        for (int i = 0; i < 100; i++) big.add(new ctlab.critical.RolloutProbe.Result("p" + i + "/0", 50, 64, 0, 3, 3, 1, 1, 1, rows));
        assertTrue(RunReport.resolutionNote(big).isEmpty());
        assertTrue(RunReport.resolutionNote(big.subList(0, 5)).orElseThrow().contains("5 trajectories"));
    }

    @Test void reportHeatMapMarksTheRolloutCriticalToken() throws Exception {
        Path run = SyntheticRuns.write(tmp.resolve("run"), 10, 8);
        String html = RunReport.html(run, new RunReport.Options(72, 3, SyntheticRuns.TEXTS));
        assertTrue(html.contains("rollout critical token"));
        assertTrue(Pattern.compile("outline:[^\"]*\">owed<").matcher(html).find(), "the critical token 'owed' is outlined");
    }

    // issue #10: report on a folder that is not a run wrote an empty report
    @Test void aFolderThatIsNotARunIsRefusedAndNothingIsWritten() throws Exception {
        Path notRun = Files.createDirectories(tmp.resolve("runs"));
        Files.writeString(notRun.resolve("notes.txt"), "x");
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(new StringWriter()));
        cl.setErr(new PrintWriter(err));
        assertEquals(2, cl.execute("report", notRun.toString()));
        assertTrue(err.toString().contains(notRun + ": not a run directory (no config.yaml and no NN-stage folders)"), err.toString());
        assertEquals(1, err.toString().strip().lines().count(), "one line, no stack trace: " + err);
        assertFalse(Files.exists(notRun.resolve("report.html")));
        // a run whose first stage has not started yet still has its config.yaml: a (partial) report
        Files.writeString(Files.createDirectories(tmp.resolve("fresh")).resolve("config.yaml"), "task: organism\nmodel: m\n");
        assertTrue(RunReport.html(tmp.resolve("fresh"), new RunReport.Options(72, 0, null)).contains("Partial run"));
    }

    @Test void ablationResultAddsTheSeedTableAndItsFigureAndAMissingFileIsAOneLineError() throws Exception {
        Path run = SyntheticRuns.write(tmp.resolve("run"), 10, 8);
        Path ablation = tmp.resolve("ablation.json");
        Files.writeString(ablation, """
                {"points": [{"methods": [
                  {"method": "base", "accuracy": {"per_seed": [0.5, 0.6, 0.7]},
                   "subsets": {"(none)": {"per_seed": [0.9, 0.8, 1.0], "problems": [10, 10, 10]},
                               "lend": {"per_seed": [0.5, 0.25, 1.0], "problems": [2, 4, 3]}}}]}]}
                """);
        String html = RunReport.html(run, new RunReport.Options(72, 3, SyntheticRuns.TEXTS).withAblation(ablation));
        assertTrue(html.contains("accuracy over seeds (mean, 95% t interval)"), "the seed table");
        assertTrue(html.contains("alt=\"accuracy over seeds\""), "its figure");
        assertFalse(RunReport.html(run, new RunReport.Options(72, 3, SyntheticRuns.TEXTS)).contains("accuracy over seeds"));
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(new StringWriter()));
        cl.setErr(new PrintWriter(err));
        Path missing = tmp.resolve("no-ablation.json");
        assertEquals(2, cl.execute("report", run.toString(), "--ablation", missing.toString()));
        assertEquals("--ablation " + missing + ": no such file", err.toString().strip().replaceFirst("^[^-]*", ""));
        assertFalse(Files.exists(run.resolve("report.html")), "nothing written");
    }
}

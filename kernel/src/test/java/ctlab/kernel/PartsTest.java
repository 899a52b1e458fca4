package ctlab.kernel;

import ctlab.viz.TokenHeatMap;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.display.mime.MIMEType;
import org.dflib.jjava.jupyter.kernel.history.HistoryEntry;
import org.dflib.jjava.jupyter.kernel.history.HistoryManager.ResultFlag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/** The kernel's pure parts: renderers, magic argument splitting, history, kernelspec files. */
class PartsTest {
    static { System.setProperty("java.awt.headless", "true"); }

    @Test void tableHtmlEscapesAndElidesTheMiddleOfLongTables() {
        Table t = Table.create("big").addColumns(IntColumn.create("i", IntStream.range(0, 100).toArray()),
                StringColumn.create("s", IntStream.range(0, 100).mapToObj(i -> i == 0 ? "<x>" : "r" + i).toArray(String[]::new)));
        String html = CtlabRenderers.tableHtml(t);
        assertTrue(html.contains("big (100 rows × 2 columns)"));
        assertTrue(html.contains("&lt;x&gt;"));
        assertTrue(html.contains("<td>r9</td>") && html.contains("<td>r90</td>") && html.contains("<td>r99</td>"));
        assertFalse(html.contains("<td>r50</td>"), "middle rows are elided");
        assertTrue(html.contains("80 more rows"));
    }

    @Test void tableNumbersUseTheReportFormatterInHtmlAndText() {
        Table t = Table.create("stats").addColumns(StringColumn.create("method", "cDPO"),
                DoubleColumn.create("acc", 0.43455096039387586), DoubleColumn.create("p", 6.5399e-12),
                DoubleColumn.create("lr", 1.374e-7), DoubleColumn.create("n", 12.0), IntColumn.create("k", new int[]{7}));
        String html = CtlabRenderers.tableHtml(t);
        for (String cell : List.of("<td>0.4346</td>", "<td>6.54e-12</td>", "<td>1.37e-07</td>", "<td>12</td>", "<td>7</td>"))
            assertTrue(html.contains(cell), cell + " in " + html);
        String text = CtlabRenderers.tableText(t);
        for (String cell : List.of("0.4346", "6.54e-12", "1.37e-07", "cDPO", "acc", "lr"))
            assertTrue(text.contains(cell), cell + " in " + text);
        assertFalse(html.contains("0.434550") || text.contains("0.434550"), "no raw doubles");
        assertFalse(html.contains("0.000000") || text.contains("0.000000"), "small numbers in scientific notation");
        Renderer r = new CtlabRenderers.KernelRenderer();
        CtlabRenderers.register(r);
        DisplayData d = r.render(t);
        assertEquals(CtlabRenderers.tableText(t), d.getData(MIMEType.TEXT_PLAIN));
    }

    @Test void longTableTextShowsHeadAndTailRows() {
        Table t = Table.create("long").addColumns(IntColumn.create("i", IntStream.range(0, 100).toArray()));
        String text = CtlabRenderers.tableText(t);
        assertTrue(text.lines().anyMatch(l -> l.replaceAll("[|\\s]", "").equals("9")), text);
        assertTrue(text.lines().anyMatch(l -> l.replaceAll("[|\\s]", "").equals("99")), text);
        assertFalse(text.lines().anyMatch(l -> l.replaceAll("[|\\s]", "").equals("50")), "middle rows are elided");
        assertTrue(text.contains("80 more rows"), text);
    }

    @Test void arraysShowTheirContentsTruncated() {
        Renderer r = new CtlabRenderers.KernelRenderer();
        assertEquals("[1.5, 2.0]", r.render(new double[]{1.5, 2}).getData(MIMEType.TEXT_PLAIN));
        assertEquals("[a, null]", r.render(new String[]{"a", null}).getData(MIMEType.TEXT_PLAIN));
        assertEquals("[[1, 2], [3]]", r.render(new int[][]{{1, 2}, {3}}).getData(MIMEType.TEXT_PLAIN));
        assertEquals("[true]", r.render(new boolean[]{true}).getData(MIMEType.TEXT_PLAIN));
        String big = (String) r.render(IntStream.range(0, 1000).toArray()).getData(MIMEType.TEXT_PLAIN);
        assertTrue(big.startsWith("[0, 1, 2, "), big);
        assertTrue(big.endsWith(", … (900 more)]"), big);
        assertTrue(big.contains(", 99, …"), big);
        assertEquals("hello", r.render("hello").getData(MIMEType.TEXT_PLAIN), "other values are unchanged");
    }

    @Test void javadocIsShownAsPlainText() {
        String doc = " Tokens as {@code text/html}; see {@link #save} and {@link Scale the scale}.\n\n <p>Second &lt;para&gt;.\n";
        assertEquals("Tokens as text/html; see #save and the scale.\n\nSecond <para>.", CtlabKernel.plainJavadoc(doc));
    }

    @Test void rendererGivesPngOfChartSizeSvgOnRequestAndHtmlForHeatMaps() throws Exception {
        Renderer r = new Renderer();
        CtlabRenderers.register(r);
        XYChart chart = new XYChartBuilder().width(300).height(200).title("t").build();
        chart.addSeries("s", new double[]{1, 2}, new double[]{2, 1});
        DisplayData d = r.render(chart);
        byte[] png = Base64.getDecoder().decode((String) d.getData(MIMEType.IMAGE_PNG));
        var img = javax.imageio.ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(300, img.getWidth());
        assertEquals(200, img.getHeight());
        assertFalse(d.hasDataForType(MIMEType.IMAGE_SVG), "SVG only on request");
        DisplayData svg = r.renderAs(chart, "image/svg+xml");
        assertTrue(((String) svg.getData(MIMEType.IMAGE_SVG)).contains("<svg"));
        DisplayData heat = r.render(TokenHeatMap.of(List.of("a"), new double[]{0.5}));
        assertTrue(((String) heat.getData(MIMEType.TEXT_HTML)).contains("ctlab-thm"));
    }

    @Test void magicArgumentsSplitOnBlanksWithQuotes() {
        assertEquals(List.of("a", "b c", "d\"e"), Magics.split(" a  \"b c\" d\\\"e "));
        assertEquals(List.of(), Magics.split("   "));
        assertEquals(List.of(""), Magics.split("\"\""));
    }

    @Test void classpathGlobExpandsInTheLastComponent(@TempDir Path dir) throws Exception {
        Files.createFile(dir.resolve("b.jar"));
        Files.createFile(dir.resolve("a.jar"));
        Files.createFile(dir.resolve("c.txt"));
        assertEquals(List.of(dir.resolve("a.jar"), dir.resolve("b.jar")), Magics.expand(dir + "/*.jar"));
        assertThrows(CellError.class, () -> Magics.expand(dir + "/*.zip"));
    }

    @Test void historyTailRangeAndUniqueSearch() {
        SessionHistory h = new SessionHistory();
        h.add(1, "int a = 1;", "");
        h.add(2, "a + 1", "2");
        h.add(3, "int a = 1;", "");
        Set<ResultFlag> none = EnumSet.noneOf(ResultFlag.class);
        assertEquals(List.of(2, 3), h.lookupTail(2, none).stream().map(HistoryEntry::getCellNumber).toList());
        assertEquals(List.of(2), h.lookupRange(1, 2, 3, none).stream().map(HistoryEntry::getCellNumber).toList());
        List<HistoryEntry> found = h.search("int*", 10, EnumSet.of(ResultFlag.UNIQUE));
        assertEquals(1, found.size());
        assertEquals(3, found.get(0).getCellNumber(), "unique search keeps the latest");
        assertEquals("2", h.lookupTail(3, EnumSet.of(ResultFlag.INCLUDE_OUTPUT)).get(1).getOutput());
        assertTrue(SessionHistory.globToRegex("a?[bc]*").matcher("axc-rest").matches());
    }

    @Test void installWritesKernelspecAndReplacesAnOldOne(@TempDir Path dir) throws Exception {
        Path jar = Files.writeString(dir.resolve("ctlab-kernel-x.jar"), "not really a jar");
        Path kernels = dir.resolve("share/jupyter/kernels");
        Path spec = KernelInstaller.install(kernels, List.of(jar), Path.of("/opt/java/bin/java"));
        assertEquals(kernels.resolve("ctlab"), spec);
        String json = Files.readString(spec.resolve("kernel.json"));
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        assertEquals("Java (ctlab)", node.get("display_name").asText());
        assertEquals("message", node.get("interrupt_mode").asText());
        assertEquals("{resource_dir}/kernel.sh", node.get("argv").get(1).asText());
        String sh = Files.readString(spec.resolve("kernel.sh"));
        assertTrue(sh.contains("${CTLAB_JVM_OPTS:--Xmx8g}") && sh.contains("/opt/java/bin/java"));
        assertTrue(Files.isExecutable(spec.resolve("kernel.sh")));
        assertTrue(Files.exists(spec.resolve("lib/ctlab-kernel-x.jar")));

        Files.writeString(spec.resolve("lib/stale.jar"), "old");
        KernelInstaller.install(kernels, List.of(jar), Path.of("/opt/java/bin/java"));
        assertFalse(Files.exists(spec.resolve("lib/stale.jar")), "reinstall replaces the whole kernelspec");
        try (var s = Files.list(kernels)) {
            assertEquals(List.of("ctlab"), s.map(p -> p.getFileName().toString()).toList(), "no temp folders left");
        }
    }

    /** The kernelspec gets the permissions of plain files and folders (umask), not 0700/0600 temp ones. */
    @Test void installedKernelspecHasPlainPermissions(@TempDir Path dir) throws Exception {
        Path jar = Files.writeString(dir.resolve("ctlab-kernel-x.jar"), "not really a jar");
        Path kernels = dir.resolve("share/jupyter/kernels");
        Path spec = KernelInstaller.install(kernels, List.of(jar), Path.of("/opt/java/bin/java"));
        Path plainDir = Files.createDirectory(dir.resolve("plain-dir"));
        Path plainFile = Files.writeString(dir.resolve("plain.json"), "{}");
        assertEquals(Files.getPosixFilePermissions(plainDir), Files.getPosixFilePermissions(spec));
        assertEquals(Files.getPosixFilePermissions(plainDir), Files.getPosixFilePermissions(spec.resolve("lib")));
        assertEquals(Files.getPosixFilePermissions(plainFile), Files.getPosixFilePermissions(spec.resolve("kernel.json")));
    }

    @Test void exitGuardLetsOnlyTheKernelThreadExit() throws Exception {
        ExitGuard guard = new ExitGuard(Thread.currentThread());     // checked directly, not installed in this JVM
        guard.checkExit(0);
        var refused = new java.util.concurrent.atomic.AtomicReference<Throwable>();
        Thread cell = new Thread(() -> {
            try { guard.checkExit(3); } catch (Throwable t) { refused.set(t); }
        });
        cell.start();
        cell.join();
        assertInstanceOf(ExitGuard.Refused.class, refused.get());
        assertTrue(refused.get().getMessage().startsWith("System.exit(3) was called in a cell"), refused.get().getMessage());
    }

    @Test void batchedOutputIsSentOnWholeUtf8Characters() {
        byte[] text = "aé€😀".getBytes(java.nio.charset.StandardCharsets.UTF_8);    // 1 + 2 + 3 + 4 bytes
        assertEquals(text.length, CellOutput.completeUtf8Length(text));
        for (int cut : new int[] {2, 4, 5, 7, 8, 9})
            assertEquals(cut == 2 ? 1 : cut <= 5 ? 3 : 6,
                    CellOutput.completeUtf8Length(java.util.Arrays.copyOf(text, cut)), "cut at " + cut);
        assertEquals(0, CellOutput.completeUtf8Length(new byte[0]));
    }
}

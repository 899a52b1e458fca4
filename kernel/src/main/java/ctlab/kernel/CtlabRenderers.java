package ctlab.kernel;

import ctlab.viz.Figures;
import ctlab.viz.Html;
import ctlab.viz.TokenHeatMap;
import org.dflib.jjava.jupyter.Extension;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.display.mime.MIMEType;
import org.knowm.xchart.internal.chartpart.Chart;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Rich output for the toolkit's types, registered with the base library's {@link Renderer}: Tablesaw
 * {@link Table} → HTML + text, XChart charts → PNG (SVG on request: {@code display(chart, "image/svg+xml")}),
 * {@link TokenHeatMap} → HTML. ({@code BufferedImage} → PNG comes with the base library.)
 *
 * <p>Loaded through {@code META-INF/services}; turn it off with the environment variable
 * {@code CTLAB_KERNEL_RENDERERS=off} (values then show as {@code toString()}).
 */
public final class CtlabRenderers implements Extension {
    /** Rows shown at the head and at the tail of a long table. */
    static final int TABLE_EDGE_ROWS = 10;
    /** Elements shown of an array (per nesting level); the rest is counted. */
    static final int ARRAY_ELEMENTS = 100;

    @Override
    public void install(BaseKernel kernel) {
        if (disabled()) return;
        register(kernel.getRenderer());
    }

    static boolean disabled() {
        String v = System.getenv("CTLAB_KERNEL_RENDERERS");
        return v != null && (v.equalsIgnoreCase("off") || v.equalsIgnoreCase("false") || v.equals("0"));
    }

    static void register(Renderer renderer) {
        renderer.createRegistration(Table.class)
                .preferring(MIMEType.TEXT_HTML)
                .register((table, ctx) -> {
                    ctx.renderIfRequested(MIMEType.TEXT_HTML, () -> tableHtml(table));
                    ctx.renderIfRequested(MIMEType.TEXT_PLAIN, () -> tableText(table));
                });
        renderer.createRegistration(Chart.class)
                .preferring(MIMEType.IMAGE_PNG)
                .supporting(MIMEType.IMAGE_SVG)
                .register((chart, ctx) -> {
                    // the toolkit's encoders, so a notebook chart gets the same title fitting as the report's figures
                    ctx.renderIfRequested(MIMEType.IMAGE_PNG, () -> Base64.getEncoder().encodeToString(Figures.png(chart, 72)));
                    ctx.renderIfRequested(MIMEType.IMAGE_SVG, () -> Figures.svg(chart));
                    ctx.renderIfRequested(MIMEType.TEXT_PLAIN, () -> chart.getClass().getSimpleName()
                            + " '" + chart.getTitle() + "' " + chart.getWidth() + "x" + chart.getHeight());
                });
        renderer.createRegistration(TokenHeatMap.class)
                .preferring(MIMEType.TEXT_HTML)
                .register((map, ctx) -> {
                    ctx.renderIfRequested(MIMEType.TEXT_HTML, map::toHtml);
                    ctx.renderIfRequested(MIMEType.TEXT_PLAIN, map::toString);
                });
    }

    /**
     * An HTML table (Tablesaw's HTML writer lives in a separate module we don't ship): name and size as the
     * caption, the first and last {@value #TABLE_EDGE_ROWS} rows of long tables, cells escaped.
     */
    static String tableHtml(Table t) {
        int rows = t.rowCount();
        int cols = t.columnCount();
        StringBuilder sb = new StringBuilder("<table class=\"ctlab-table\">");
        sb.append("<caption style=\"text-align:left\">").append(escape(t.name() == null ? "" : t.name()))
          .append(" (").append(rows).append(" rows × ").append(cols).append(" columns)</caption>");
        sb.append("<thead><tr>");
        for (String name : t.columnNames()) sb.append("<th>").append(escape(name)).append("</th>");
        sb.append("</tr></thead><tbody>");
        boolean elide = rows > 2 * TABLE_EDGE_ROWS;
        for (int r = 0; r < rows; r++) {
            if (elide && r == TABLE_EDGE_ROWS) {
                sb.append("<tr><td colspan=\"").append(cols).append("\" style=\"text-align:center\">… ")
                  .append(rows - 2 * TABLE_EDGE_ROWS).append(" more rows …</td></tr>");
                r = rows - TABLE_EDGE_ROWS;
            }
            sb.append("<tr>");
            for (int c = 0; c < cols; c++) sb.append("<td>").append(escape(Html.cell(t.column(c), r))).append("</td>");
            sb.append("</tr>");
        }
        return sb.append("</tbody></table>").toString();
    }

    /**
     * The table as text, numbers formatted as in the HTML (the report's {@link Html#cell}), head and tail rows
     * of long tables with a "… N more rows" row between them.
     */
    static String tableText(Table t) {
        int rows = t.rowCount();
        boolean elide = rows > 2 * TABLE_EDGE_ROWS;
        Table view = Table.create(t.name() == null ? "" : t.name());
        for (int c = 0; c < t.columnCount(); c++) {
            List<String> cells = new ArrayList<>();
            for (int r = 0; r < rows; r++) {
                if (elide && r == TABLE_EDGE_ROWS) {
                    cells.add(c == 0 ? "… " + (rows - 2 * TABLE_EDGE_ROWS) + " more rows" : "…");
                    r = rows - TABLE_EDGE_ROWS;
                }
                cells.add(Html.cell(t.column(c), r));
            }
            view.addColumns(StringColumn.create(t.column(c).name(), cells));
        }
        return view.printAll();
    }

    /**
     * The kernel's renderer: as the base library's, but an array without a renderer of its own shows its
     * contents (the first {@value #ARRAY_ELEMENTS} elements per level) instead of {@code [D@4a71c3c3}.
     */
    static final class KernelRenderer extends Renderer {
        @Override
        protected DisplayData finalizeDisplayData(DisplayData data, Object value) {
            if (value != null && value.getClass().isArray() && !data.hasDataForType(MIMEType.TEXT_PLAIN))
                data.putText(arrayText(value));
            return super.finalizeDisplayData(data, value);
        }
    }

    static String arrayText(Object array) {
        StringBuilder sb = new StringBuilder();
        appendArray(sb, array, 0);
        return sb.toString();
    }

    private static void appendArray(StringBuilder sb, Object array, int depth) {
        int n = Array.getLength(array);
        int shown = Math.min(n, ARRAY_ELEMENTS);
        sb.append('[');
        for (int i = 0; i < shown; i++) {
            if (i > 0) sb.append(", ");
            Object e = Array.get(array, i);
            // depth guard: an Object[] may contain itself
            if (e != null && e.getClass().isArray() && depth < 8) appendArray(sb, e, depth + 1);
            else sb.append(e != null && e.getClass().isArray() ? "[…]" : String.valueOf(e));
        }
        if (n > shown) sb.append(", … (").append(n - shown).append(" more)");
        sb.append(']');
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}

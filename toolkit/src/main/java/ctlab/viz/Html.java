package ctlab.viz;

import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

import java.util.Base64;
import java.util.Locale;

/** Small HTML building blocks for the report: escaped text, Tablesaw tables, embedded PNG figures. */
public final class Html {
    private Html() {}

    public static String escape(String s) { return s == null ? "" : TokenHeatMap.escape(s); }

    /** A Tablesaw table as an HTML table: numbers to 4 significant digits, missing values as "–". */
    public static String table(Table t, int maxRows) {
        StringBuilder sb = new StringBuilder("<div class=\"scroll\"><table class=\"data\"><caption>").append(escape(t.name())).append("</caption><thead><tr>");
        for (String c : t.columnNames()) sb.append("<th>").append(escape(c)).append("</th>");
        sb.append("</tr></thead><tbody>");
        int rows = Math.min(maxRows, t.rowCount());
        for (int r = 0; r < rows; r++) {
            sb.append("<tr>");
            for (Column<?> c : t.columns()) {
                boolean numeric = c.type().equals(tech.tablesaw.api.ColumnType.DOUBLE) || c.type().equals(tech.tablesaw.api.ColumnType.INTEGER);
                sb.append(numeric ? "<td class=\"num\">" : "<td>").append(escape(cell(c, r))).append("</td>");
            }
            sb.append("</tr>");
        }
        sb.append("</tbody></table></div>");
        if (t.rowCount() > rows) {
            sb.append("<p class=\"note\">first ").append(rows).append(" of ").append(t.rowCount()).append(" rows</p>");
        }
        return sb.toString();
    }

    /** One cell as the report shows it (also the kernel's table display): 4 significant digits, small numbers in scientific notation. */
    public static String cell(Column<?> c, int r) {
        if (c.isMissing(r)) return "–";
        Object v = c.get(r);
        if (v instanceof Double d) {
            if (d.isNaN()) return "–";
            if (d == Math.rint(d) && Math.abs(d) < 1e6) return String.format(Locale.ROOT, "%.0f", d);
            return String.format(Locale.ROOT, Math.abs(d) < 1e-3 ? "%.3g" : "%.4g", d);
        }
        return String.valueOf(v).replace("\n", "↵");
    }

    /** An embedded PNG figure with alt text and caption. */
    public static String png(byte[] png, String alt, String caption) {
        return "<figure><img alt=\"" + escape(alt) + "\" src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(png)
                + "\"><figcaption>" + escape(caption) + "</figcaption></figure>";
    }
}

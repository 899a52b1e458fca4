package ctlab.viz;

import ctlab.analysis.Analyses;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.util.List;

/**
 * The one figure style of ctlab: white background, sans-serif fonts sized for a paper column at 2× scale,
 * light dotted grid, legend inside the plot, and the Okabe–Ito colour-blind-safe palette (Okabe &amp; Ito 2008)
 * in an order whose first colours also differ in lightness (readable in greyscale print).
 */
public final class FigureStyle {
    private FigureStyle() {}

    public static final Color BLUE = new Color(0x00, 0x72, 0xB2);
    public static final Color VERMILLION = new Color(0xD5, 0x5E, 0x00);
    public static final Color GREEN = new Color(0x00, 0x9E, 0x73);
    public static final Color ORANGE = new Color(0xE6, 0x9F, 0x00);
    public static final Color SKY_BLUE = new Color(0x56, 0xB4, 0xE9);
    public static final Color PURPLE = new Color(0xCC, 0x79, 0xA7);
    public static final Color YELLOW = new Color(0xF0, 0xE4, 0x42);
    public static final Color BLACK = Color.BLACK;
    public static final Color GREY = new Color(0x80, 0x80, 0x80);

    /** Series colours in order (yellow last: it is hard to see on white). */
    public static final Color[] PALETTE = {BLUE, VERMILLION, GREEN, ORANGE, SKY_BLUE, PURPLE, BLACK, YELLOW};

    public static final String FONT = Font.SANS_SERIF;
    public static final int WIDTH = 720, HEIGHT = 450;

    public static Color color(int i) { return PALETTE[Math.floorMod(i, PALETTE.length)]; }

    /** Colours for methods without a fixed one: no black (it hides the black error bars), no yellow (unreadable on white). */
    private static final Color[] METHOD_FALLBACK = {BLUE, VERMILLION, GREEN, ORANGE, SKY_BLUE, PURPLE};
    private static final java.util.Map<String, Color> METHOD_COLORS = java.util.Map.of(
            "base", GREY, "sft", SKY_BLUE, "dpo", BLUE, "rpo", ORANGE, "tokendpo", GREEN, "cdpo", VERMILLION,
            "cdpo-official", PURPLE);
    private static final java.util.Map<String, String> METHOD_LABELS = java.util.Map.of(
            "base", "Base", "sft", "SFT", "dpo", "DPO", "rpo", "RPO", "tokendpo", "TokenDPO", "cdpo", "cDPO",
            "cdpo-official", "cDPO (official)");

    /**
     * The one colour of a method (loss name as the run names it, e.g. {@code cdpo}) in every figure and notebook,
     * whatever the order or number of methods drawn; an unknown name gets a stable colour from its name.
     */
    public static Color methodColor(String method) {
        Color c = METHOD_COLORS.get(method);
        return c != null ? c : METHOD_FALLBACK[Math.floorMod(method.hashCode(), METHOD_FALLBACK.length)];
    }

    /** Paper order of methods (base, SFT, DPO, TokenDPO, RPO, cDPO, ...: {@link Analyses#methodRank}), unknown ones after, by name. */
    public static final java.util.Comparator<String> METHOD_ORDER_COMPARATOR = java.util.Comparator
            .comparingInt(Analyses::methodRank)
            .thenComparing(java.util.Comparator.naturalOrder());

    /**
     * A tick-label pattern with one fixed number of decimals for an axis over {@code lo..hi}, so all its ticks read
     * alike (0.690, 0.695, 0.700 rather than 0.69, 0.695, 0.7) and a leading zero is kept.
     */
    public static String tickPattern(double lo, double hi) {
        double range = hi - lo;
        if (!(range > 0) || Double.isInfinite(range)) range = Math.max(Math.abs(hi), 1e-12);
        int decimals = (int) Math.max(0, Math.min(8, Math.ceil(-Math.log10(range / 6))));
        return decimals == 0 ? "0" : "0." + "0".repeat(decimals);
    }

    /** The paper's spelling of a method (cDPO, TokenDPO, ...); unknown names as they are. */
    public static String methodLabel(String method) { return METHOD_LABELS.getOrDefault(method, method); }

    /** {@code c} at {@code alpha} (0..255): the faint raw curve behind a smoothed one. */
    public static Color faint(Color c, int alpha) { return new Color(c.getRed(), c.getGreen(), c.getBlue(), alpha); }

    /**
     * Shrinks the chart title's font (down to 10 pt, then cuts it with an ellipsis) until it fits the chart's
     * width: XChart clips a title that is too long instead of wrapping it.
     */
    public static void fitTitle(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart) {
        String title = chart.getTitle();
        if (title == null || title.isEmpty()) return;
        var s = chart.getStyler();
        int avail = chart.getWidth() - 2 * s.getChartPadding() - 4;
        java.awt.Graphics2D g = new java.awt.image.BufferedImage(1, 1, java.awt.image.BufferedImage.TYPE_INT_RGB).createGraphics();
        try {
            Font f = s.getChartTitleFont();
            while (g.getFontMetrics(f).stringWidth(title) > avail && f.getSize() > 10) f = f.deriveFont((float) f.getSize() - 1);
            while (g.getFontMetrics(f).stringWidth(title) > avail && title.length() > 2) title = title.substring(0, title.length() - 2) + "…";
            s.setChartTitleFont(f);
            if (!title.equals(chart.getTitle())) chart.setTitle(title);
        } finally {
            g.dispose();
        }
    }

    /** Styles an XY chart (and returns it). */
    public static XYChart apply(XYChart chart) {
        common(chart.getStyler());
        chart.getStyler().setMarkerSize(6);
        return chart;
    }

    /** Styles a category (bar) chart (and returns it). */
    public static CategoryChart apply(CategoryChart chart) {
        common(chart.getStyler());
        chart.getStyler().setAvailableSpaceFill(0.8);
        chart.getStyler().setOverlapped(false);
        return chart;
    }

    private static void common(AxesChartStyler s) {
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotBorderVisible(true);
        s.setPlotBorderColor(new Color(0x40, 0x40, 0x40));
        s.setChartTitleFont(new Font(FONT, Font.BOLD, 16));
        s.setChartTitleBoxVisible(false);
        s.setAxisTitleFont(new Font(FONT, Font.PLAIN, 14));
        s.setAxisTickLabelsFont(new Font(FONT, Font.PLAIN, 12));
        s.setAxisTickLabelsColor(Color.BLACK);
        s.setLegendFont(new Font(FONT, Font.PLAIN, 12));
        s.setLegendBorderColor(new Color(0xC0, 0xC0, 0xC0));
        s.setLegendPosition(Styler.LegendPosition.OutsideS);     // below the plot: never hides data
        s.setLegendLayout(Styler.LegendLayout.Horizontal);
        s.setPlotGridLinesColor(new Color(0xE0, 0xE0, 0xE0));
        s.setPlotGridLinesStroke(new BasicStroke(0.8f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_BEVEL, 10f, new float[] {2f, 3f}, 0));
        s.setAxisTickMarkLength(4);
        s.setPlotMargin(4);
        s.setChartPadding(12);
        s.setSeriesColors(PALETTE);
        s.setAntiAlias(true);
        s.setToolTipsEnabled(false);
    }
}

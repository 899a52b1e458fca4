package ctlab.viz;

import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;

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

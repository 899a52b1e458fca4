package ctlab.viz;

import ctlab.io.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A {@link TokenHeatMap} drawn for papers (paper Fig. 3 analogue): tokens in a monospace font on boxes coloured
 * by their score, wrapped to a width, newlines kept (shown as ↵), with a title and a colour bar. One layout,
 * two renderings: PNG through Graphics2D at a chosen DPI, and SVG (rect + text elements) for vector output.
 */
public final class TokenHeatMapImage {
    private static final int FONT_SIZE = 14, PAD = 16, LINE_GAP = 6, BAR_HEIGHT = 12, TITLE_SIZE = 15;
    private static final Font MONO = new Font(Font.MONOSPACED, Font.PLAIN, FONT_SIZE);
    private static final Font TITLE = new Font(FigureStyle.FONT, Font.BOLD, TITLE_SIZE);
    private static final Font LABEL = new Font(FigureStyle.FONT, Font.PLAIN, 12);
    private static final int MARK_ROW = 18;

    private static java.awt.BasicStroke markStroke(int m) {
        float[] dash = switch (TokenHeatMap.markDash(m)) { case "dashed" -> new float[] {4f, 2f}; case "dotted" -> new float[] {1.5f, 1.5f}; default -> null; };
        return new java.awt.BasicStroke(2f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER, 10f, dash, 0);
    }

    private static String svgDash(int m) {
        return switch (TokenHeatMap.markDash(m)) { case "dashed" -> " stroke-dasharray=\"4 2\""; case "dotted" -> " stroke-dasharray=\"1.5 1.5\""; default -> ""; };
    }

    private record Box(String text, double score, int x, int y, int w, int marking) {}

    private final TokenHeatMap map;
    private final String title;
    private final String scoreLabel;
    private final int width;
    private final List<Box> boxes = new ArrayList<>();
    private final int lineHeight;
    private final int height;
    private final int textTop;

    /**
     * @param title      figure title (may be null)
     * @param scoreLabel what the colour encodes, e.g. "s_t (CE score)"
     * @param width      image width in points (pixels at 72 DPI)
     */
    public TokenHeatMapImage(TokenHeatMap map, String title, String scoreLabel, int width) {
        if (width < 200) throw new IllegalArgumentException("width must be >= 200, got " + width);
        this.map = map;
        this.title = title;
        this.scoreLabel = scoreLabel == null ? "score" : scoreLabel;
        this.width = width;
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = probe.createGraphics();
        FontMetrics fm = g.getFontMetrics(MONO);
        lineHeight = fm.getHeight() + LINE_GAP;
        textTop = PAD + (title == null ? 0 : TITLE_SIZE + 12);
        int x = PAD, y = textTop;
        List<String> tokens = map.tokens();
        double[] scores = map.scores();
        for (int i = 0; i < tokens.size(); i++) {
            String raw = tokens.get(i);
            String shown = TokenHeatMap.visible(raw);
            int w = Math.max(fm.stringWidth(shown), 4) + 2;
            if (x + w > width - PAD && x > PAD) {
                x = PAD;
                y += lineHeight;
            }
            boxes.add(new Box(shown, scores[i], x, y, w, map.markingOf(i)));
            x += w + 1;
            if (raw.contains("\n")) {
                x = PAD;
                y += lineHeight;
            }
        }
        g.dispose();
        height = y + lineHeight + 18 + BAR_HEIGHT + 22 + PAD + map.markings().size() * MARK_ROW;
    }

    public int width() { return width; }
    public int height() { return height; }

    /** Renders at {@code dpi} (72 = one pixel per point). */
    public BufferedImage render(int dpi) {
        double scale = dpi / 72.0;
        BufferedImage img = new BufferedImage((int) Math.ceil(width * scale), (int) Math.ceil(height * scale), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.scale(scale, scale);
        draw(g);
        g.dispose();
        return img;
    }

    /** PDF bytes (vector: the same drawing through VectorGraphics2D, sizes in points), for LaTeX papers. */
    public byte[] pdf() {
        de.erichseifert.vectorgraphics2d.VectorGraphics2D g = new de.erichseifert.vectorgraphics2d.VectorGraphics2D();
        draw(g);
        try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            new de.erichseifert.vectorgraphics2d.pdf.PDFProcessor(true)
                    .getDocument(g.getCommands(), new de.erichseifert.vectorgraphics2d.util.PageSize(width, height)).writeTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            g.dispose();
        }
    }

    public void savePdf(Path file) {
        byte[] b = pdf();
        AtomicFiles.write(file, out -> out.write(b));
    }

    private void draw(Graphics2D g) {
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        if (title != null) {
            g.setColor(Color.BLACK);
            g.setFont(TITLE);
            g.drawString(title, PAD, PAD + TITLE_SIZE);
        }
        g.setFont(MONO);
        FontMetrics fm = g.getFontMetrics();
        for (Box b : boxes) {
            String bg = map.colorOf(b.score);
            g.setColor(Color.decode(bg));
            g.fillRoundRect(b.x, b.y, b.w, lineHeight - LINE_GAP, 4, 4);
            g.setColor(Color.decode(TokenHeatMap.textColorOn(bg)));
            g.drawString(b.text, b.x + 1, b.y + fm.getAscent());
        }
        for (Box b : boxes) {           // outlines after all boxes: a neighbour's box must not cover them
            if (b.marking < 0) continue;
            java.awt.Stroke old = g.getStroke();
            g.setStroke(markStroke(b.marking));
            g.setColor(Color.decode(TokenHeatMap.markColor(b.marking)));
            g.drawRoundRect(b.x - 1, b.y - 1, b.w + 2, lineHeight - LINE_GAP + 2, 4, 4);
            g.setStroke(old);
        }
        int barY = barTop();
        int barW = barWidth();
        for (int i = 0; i < barW; i++) {
            g.setColor(Color.decode(map.colorOf(map.min() + (map.max() - map.min()) * i / (barW - 1.0))));
            g.fillRect(PAD + i, barY, 1, BAR_HEIGHT);
        }
        g.setColor(Color.BLACK);
        g.drawRect(PAD, barY, barW, BAR_HEIGHT);
        g.setFont(LABEL);
        FontMetrics lm = g.getFontMetrics();
        g.drawString(fmt(map.min()), PAD, barY + BAR_HEIGHT + 15);
        String hi = fmt(map.max());
        g.drawString(hi, PAD + barW - lm.stringWidth(hi), barY + BAR_HEIGHT + 15);
        g.drawString(scoreLabel, PAD + barW + 10, barY + BAR_HEIGHT - 1);
        for (int m = 0; m < map.markings().size(); m++) {
            int y = markTop(m);
            g.setStroke(markStroke(m));
            g.setColor(Color.decode(TokenHeatMap.markColor(m)));
            g.drawRect(PAD, y, 18, 11);
            g.setColor(Color.BLACK);
            g.drawString(map.markings().get(m).label(), PAD + 26, y + 10);
        }
    }

    private int barTop() { return boxes.isEmpty() ? textTop + 8 : boxes.get(boxes.size() - 1).y + lineHeight + 12; }

    private int markTop(int m) { return barTop() + BAR_HEIGHT + 26 + m * MARK_ROW; }

    private int barWidth() { return Math.min(240, width - 2 * PAD - 160); }

    public byte[] png(int dpi) {
        try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            ImageIO.write(render(dpi), "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Self-contained SVG (sizes in points; fonts named generically so any viewer has them). */
    public String svg() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
                width, height, width, height));
        sb.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height));
        if (title != null) {
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-family=\"sans-serif\" font-weight=\"bold\" font-size=\"%d\">%s</text>\n",
                    PAD, PAD + TITLE_SIZE, TITLE_SIZE, TokenHeatMap.escape(title)));
        }
        int h = lineHeight - LINE_GAP;
        for (Box b : boxes) {
            String bg = map.colorOf(b.score);
            sb.append(String.format(Locale.ROOT, "<g><title>%s : %s</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"2\" fill=\"%s\"/>"
                            + "<text x=\"%d\" y=\"%d\" font-family=\"monospace\" font-size=\"%d\" fill=\"%s\" xml:space=\"preserve\">%s</text></g>\n",
                    TokenHeatMap.escape(b.text), fmt(b.score), b.x, b.y, b.w, h, bg, b.x + 1, b.y + h - 5, FONT_SIZE,
                    TokenHeatMap.textColorOn(bg), TokenHeatMap.escape(b.text)));
        }
        for (Box b : boxes) {
            if (b.marking < 0) continue;
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"2\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                    b.x - 1, b.y - 1, b.w + 2, h + 2, TokenHeatMap.markColor(b.marking), svgDash(b.marking)));
        }
        int barY = barTop(), barW = barWidth();
        sb.append("<defs><linearGradient id=\"ctlab-bar\">");
        for (int i = 0; i <= 20; i++) {
            sb.append(String.format(Locale.ROOT, "<stop offset=\"%.2f\" stop-color=\"%s\"/>", i / 20.0,
                    map.colorOf(map.min() + (map.max() - map.min()) * i / 20.0)));
        }
        sb.append("</linearGradient></defs>\n");
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"url(#ctlab-bar)\" stroke=\"#000\"/>\n",
                PAD, barY, barW, BAR_HEIGHT));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%s</text>\n",
                PAD, barY + BAR_HEIGHT + 15, fmt(map.min())));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-family=\"sans-serif\" font-size=\"12\" text-anchor=\"end\">%s</text>\n",
                PAD + barW, barY + BAR_HEIGHT + 15, fmt(map.max())));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%s</text>\n",
                PAD + barW + 10, barY + BAR_HEIGHT - 1, TokenHeatMap.escape(scoreLabel)));
        for (int m = 0; m < map.markings().size(); m++) {
            int y = markTop(m);
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"18\" height=\"11\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s/>"
                            + "<text x=\"%d\" y=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%s</text>\n",
                    PAD, y, TokenHeatMap.markColor(m), svgDash(m), PAD + 26, y + 10, TokenHeatMap.escape(map.markings().get(m).label())));
        }
        return sb.append("</svg>\n").toString();
    }

    public void savePng(Path file, int dpi) {
        byte[] b = png(dpi);
        AtomicFiles.write(file, out -> out.write(b));
    }

    public void saveSvg(Path file) { AtomicFiles.writeString(file, svg()); }

    private static String fmt(double v) { return String.format(Locale.ROOT, "%.2f", v); }
}

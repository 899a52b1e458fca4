package ctlab.viz;

import ctlab.CtlabException;
import ctlab.io.AtomicFiles;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Tokens coloured by a per-token score (e.g. a critical-token score s_t or a rollout rate), as self-contained
 * HTML: inline CSS, no scripts, each token shows its score on hover. The notebook kernel renders it as
 * {@code text/html}; {@link #save} writes it as a page.
 *
 * <p>Colour scales are colour-blind safe: {@link Scale#SEQUENTIAL} is viridis (for scores in a range such as
 * rates in [0, 1]); {@link Scale#DIVERGING} is blue–white–orange centred on 0 (for signed scores). Scores
 * outside the range are clamped; NaN is drawn grey.
 */
public final class TokenHeatMap {
    public enum Scale { SEQUENTIAL, DIVERGING }

    // Viridis at 0, 0.25, 0.5, 0.75, 1 (matplotlib's table).
    private static final int[][] VIRIDIS = {
            {0x44, 0x01, 0x54}, {0x3b, 0x52, 0x8b}, {0x21, 0x91, 0x8c}, {0x5e, 0xc9, 0x62}, {0xfd, 0xe7, 0x25}};
    // Blue (negative) – near white (0) – orange (positive); ColorBrewer PuOr/RdBu-style endpoints.
    private static final int[][] BLUE_WHITE_ORANGE = {
            {0x21, 0x66, 0xac}, {0x92, 0xc5, 0xde}, {0xf7, 0xf7, 0xf7}, {0xfd, 0xb8, 0x63}, {0xe6, 0x61, 0x01}};

    private final List<String> tokens;
    private final double[] scores;
    private final Scale scale;
    private final double min;
    private final double max;
    private final String title;
    private final List<Marking> markings;

    /**
     * Token positions drawn outlined, with a label for the legend: the rollout critical token, a planted ground
     * truth, any set a notebook wants to point at. Each marking has its own outline colour and dash.
     */
    public record Marking(String label, java.util.Set<Integer> positions) {
        public Marking {
            if (label == null || label.isBlank()) throw new CtlabException("token heat map: a marking needs a label");
            positions = java.util.Set.copyOf(new java.util.TreeSet<>(positions));
        }
    }

    // Outline colours of markings in order: black-free (viridis ends are near-black), distinct from viridis.
    private static final String[] MARK_COLORS = {"#d55e00", "#cc79a7", "#e69f00", "#56b4e9"};

    /** Outline colour of the {@code i}-th marking. */
    public static String markColor(int i) { return MARK_COLORS[Math.floorMod(i, MARK_COLORS.length)]; }

    /** CSS border style of the {@code i}-th marking (solid, then dashed, then dotted ...). */
    static String markDash(int i) { return switch (Math.floorMod(i, 3)) { case 0 -> "solid"; case 1 -> "dashed"; default -> "dotted"; }; }

    private TokenHeatMap(List<String> tokens, double[] scores, Scale scale, double min, double max, String title) {
        this(tokens, scores, scale, min, max, title, List.of());
    }

    private TokenHeatMap(List<String> tokens, double[] scores, Scale scale, double min, double max, String title, List<Marking> markings) {
        this.tokens = tokens;
        this.scores = scores;
        this.scale = scale;
        this.min = min;
        this.max = max;
        this.title = title;
        this.markings = markings;
    }

    /** This map with {@code positions} (0-based token indexes) outlined and named {@code label} in the legend. */
    public TokenHeatMap mark(String label, java.util.Collection<Integer> positions) {
        for (int p : positions) {
            if (p < 0 || p >= tokens.size()) {
                throw new CtlabException("token heat map: marked position " + p + " is outside the " + tokens.size() + " tokens");
            }
        }
        List<Marking> all = new java.util.ArrayList<>(markings);
        all.add(new Marking(label, new java.util.HashSet<>(positions)));
        return new TokenHeatMap(tokens, scores, scale, min, max, title, List.copyOf(all));
    }

    /** This map with {@code positions} outlined and named {@code label} in the legend. */
    public TokenHeatMap mark(String label, int... positions) {
        return mark(label, java.util.Arrays.stream(positions).boxed().toList());
    }

    public List<Marking> markings() { return markings; }

    /** Index of the first marking that holds {@code position}, or -1. */
    int markingOf(int position) {
        for (int m = 0; m < markings.size(); m++) if (markings.get(m).positions().contains(position)) return m;
        return -1;
    }

    /**
     * A heat map over {@code tokens} (decoded token strings, one per score). The scale is diverging when any
     * score is negative, sequential otherwise; the range is the scores' own (symmetric around 0 if diverging).
     */
    public static TokenHeatMap of(List<String> tokens, double[] scores) {
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(scores, "scores");
        if (tokens.size() != scores.length)
            throw new CtlabException("token heat map: " + tokens.size() + " tokens but " + scores.length + " scores");
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double s : scores) {
            if (Double.isNaN(s)) continue;
            lo = Math.min(lo, s);
            hi = Math.max(hi, s);
        }
        if (lo > hi) { lo = 0; hi = 1; }               // no finite scores
        Scale scale = lo < 0 ? Scale.DIVERGING : Scale.SEQUENTIAL;
        if (scale == Scale.DIVERGING) {
            double m = Math.max(Math.abs(lo), Math.abs(hi));
            lo = -m;
            hi = m;
        } else if (hi == lo) {
            hi = lo + 1;
        }
        return new TokenHeatMap(List.copyOf(tokens), scores.clone(), scale, lo, hi, null);
    }

    public static TokenHeatMap of(List<String> tokens, List<? extends Number> scores) {
        return of(tokens, scores.stream().mapToDouble(n -> n == null ? Double.NaN : n.doubleValue()).toArray());
    }

    /** Fixes the colour range (scores outside are clamped). */
    public TokenHeatMap range(double min, double max) {
        if (!(max > min)) throw new CtlabException("token heat map: range max " + max + " must exceed min " + min);
        return new TokenHeatMap(tokens, scores, scale, min, max, title, markings);
    }

    public TokenHeatMap scale(Scale scale) {
        return new TokenHeatMap(tokens, scores, Objects.requireNonNull(scale), min, max, title, markings);
    }

    public TokenHeatMap title(String title) {
        return new TokenHeatMap(tokens, scores, scale, min, max, title, markings);
    }

    /** The title (null when none). */
    public String title() { return title; }

    /** This map drawn for a paper, 900 points wide, titled like the map: {@code heat.image("s_t").render(110)}. */
    public TokenHeatMapImage image(String scoreLabel) { return new TokenHeatMapImage(this, title, scoreLabel, 900); }

    public List<String> tokens() { return tokens; }
    public double[] scores() { return scores.clone(); }
    public Scale scale() { return scale; }
    public double min() { return min; }
    public double max() { return max; }

    /** Background colour for a score as {@code #rrggbb}. */
    public String colorOf(double score) {
        if (Double.isNaN(score)) return "#bdbdbd";
        double t = (Math.max(min, Math.min(max, score)) - min) / (max - min);   // 0..1
        int[][] stops = scale == Scale.SEQUENTIAL ? VIRIDIS : BLUE_WHITE_ORANGE;
        double pos = t * (stops.length - 1);
        int i = Math.min(stops.length - 2, (int) Math.floor(pos));
        double f = pos - i;
        int r = (int) Math.round(stops[i][0] + f * (stops[i + 1][0] - stops[i][0]));
        int g = (int) Math.round(stops[i][1] + f * (stops[i + 1][1] - stops[i][1]));
        int b = (int) Math.round(stops[i][2] + f * (stops[i + 1][2] - stops[i][2]));
        return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
    }

    /** Black or white, whichever reads better on {@code background} (WCAG relative luminance). */
    static String textColorOn(String background) {
        int rgb = Integer.parseInt(background.substring(1), 16);
        double l = 0.2126 * linear(rgb >> 16 & 0xff) + 0.7152 * linear(rgb >> 8 & 0xff) + 0.0722 * linear(rgb & 0xff);
        return l > 0.179 ? "#000000" : "#ffffff";
    }

    private static double linear(int channel) {
        double c = channel / 255.0;
        return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }

    /** A self-contained HTML fragment (a {@code <div>} with its own scoped style). */
    public String toHtml() {
        StringBuilder sb = new StringBuilder(64 + tokens.size() * 96);
        sb.append("<div class=\"ctlab-thm\" style=\"font-family:ui-monospace,Menlo,Consolas,monospace;"
                + "font-size:13px;line-height:1.9;white-space:pre-wrap;\">");
        if (title != null) sb.append("<div style=\"font-weight:bold;margin-bottom:4px\">").append(escape(title)).append("</div>");
        for (int i = 0; i < tokens.size(); i++) {
            String bg = colorOf(scores[i]);
            String tok = tokens.get(i);
            int mk = markingOf(i);
            sb.append("<span title=\"").append(escape(hoverLabel(tok, scores[i])))
              .append(mk >= 0 ? " (" + escape(markings.get(mk).label()) + ")" : "").append("\" style=\"background:")
              .append(bg).append(";color:").append(textColorOn(bg))
              .append(";border-radius:3px;padding:1px 0;margin:0 1px 0 0")
              .append(mk >= 0 ? ";outline:2px " + markDash(mk) + " " + markColor(mk) + ";outline-offset:1px;font-weight:bold" : "")
              .append("\">")
              .append(escape(visible(tok))).append("</span>");
            if (tok.endsWith("\n")) sb.append("<br>");
        }
        sb.append(legend()).append("</div>");
        return sb.toString();
    }

    /** A full HTML page around {@link #toHtml()}. */
    public String toHtmlPage() {
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
                + escape(title == null ? "token heat map" : title) + "</title></head><body>\n"
                + toHtml() + "\n</body></html>\n";
    }

    /** Writes {@link #toHtmlPage()} atomically. */
    public void save(Path file) {
        AtomicFiles.writeString(file, toHtmlPage());
    }

    private String legend() {
        StringBuilder sb = new StringBuilder("<div style=\"margin-top:6px;font-size:11px;white-space:nowrap\">");
        sb.append(fmt(min)).append(' ');
        for (int i = 0; i <= 20; i++) {
            double s = min + (max - min) * i / 20.0;
            sb.append("<span style=\"display:inline-block;width:8px;height:10px;background:")
              .append(colorOf(s)).append("\"></span>");
        }
        sb.append(' ').append(fmt(max));
        for (int m = 0; m < markings.size(); m++) {
            sb.append(" &nbsp; <span style=\"display:inline-block;width:12px;height:10px;outline:2px ").append(markDash(m)).append(' ')
              .append(markColor(m)).append("\"></span> ").append(escape(markings.get(m).label()));
        }
        sb.append("</div>");
        return sb.toString();
    }

    private static String hoverLabel(String token, double score) {
        return visible(token) + " : " + fmt(score);
    }

    /**
     * Makes whitespace visible: newline as ↵ and tab as → everywhere; in a whitespace-only token also each
     * space as ␣ (a word token's leading space stays a space, so text still reads as text).
     */
    static String visible(String token) {
        String s = token.replace("\n", "↵").replace("\t", "→");
        return token.isBlank() ? s.replace(' ', '␣') : s;
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "NaN" : String.format(Locale.ROOT, "%.4g", v);
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Plain text: tokens with their scores, one {@code token|score} pair per token. */
    @Override public String toString() {
        StringBuilder sb = new StringBuilder("TokenHeatMap(").append(tokens.size()).append(" tokens, ")
                .append(scale.name().toLowerCase(Locale.ROOT)).append(' ').append(fmt(min)).append("..").append(fmt(max)).append(")");
        int shown = Math.min(tokens.size(), 40);
        if (shown > 0) sb.append('\n');
        for (int i = 0; i < shown; i++) sb.append(visible(tokens.get(i))).append('|').append(fmt(scores[i])).append(' ');
        if (shown < tokens.size()) sb.append("...");
        return sb.toString().stripTrailing();
    }
}

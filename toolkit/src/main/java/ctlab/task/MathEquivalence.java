package ctlab.task;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * When two final answers count as the same. In order:
 * <ol>
 * <li>identical after {@link AnswerNormalizer normalisation};</li>
 * <li>collections compared element-wise: tuples and intervals in order with the same bracket types
 *     ({@code (1,2]} ≠ {@code (1,2)}), unions of intervals part by part, sets {@code \{..\}} and bare lists
 *     {@code 1,2} in any order, matrices cell by cell; a collection never equals a single value;</li>
 * <li>numbers: two exact values (integers, {@code \frac{a}{b}}, {@code a/b}) must be equal exactly; when
 *     either side is a decimal the relative tolerance is 1e-4 (so {@code 0.3333} ≠ {@code 1/3} but
 *     {@code 0.33333} = {@code 1/3}); when either side had a percent sign the reference ×100 and /100 are
 *     accepted too (so {@code 50\%} = {@code 0.5});</li>
 * <li>equations {@code a=b} vs {@code c=d}: {@code a-b} symbolically equal to ±{@code (c-d)}
 *     ({@code x=5} vs {@code 5} is already handled by normalisation);</li>
 * <li>symbolic equality through Symja ({@link SymbolicEquivalence}), with a timeout; plain words are never
 *     compared symbolically (so "no" ≠ "on").</li>
 * </ol>
 */
public final class MathEquivalence {
    static final double REL_TOL = 1e-4;

    private static final Pattern INTEGER = Pattern.compile("-?\\d+");
    private static final Pattern DECIMAL = Pattern.compile("-?(\\d+\\.\\d*|\\.\\d+|\\d+)");
    private static final Pattern FRAC = Pattern.compile("(-?)\\\\frac\\{(-?\\d+)\\}\\{(-?\\d+)\\}");
    private static final Pattern SLASH = Pattern.compile("(-?\\d+)/(-?\\d+)");
    private static final Pattern WORDS = Pattern.compile("[A-Za-z][A-Za-z ']*");
    private static final Pattern MATRIX = Pattern.compile("\\\\begin\\{([pbvBV]?matrix|array)\\}(?:\\{[^}]*\\})?(.*)\\\\end\\{\\1\\}");

    private MathEquivalence() {}

    /** True when {@code prediction} is equivalent to {@code reference} (either may be null: then false). */
    public static boolean equivalent(String prediction, String reference) {
        if (prediction == null || reference == null) return false;
        AnswerNormalizer.Normalized p = AnswerNormalizer.normalize(prediction);
        AnswerNormalizer.Normalized r = AnswerNormalizer.normalize(reference);
        if (p.text().isEmpty() || r.text().isEmpty()) return false;
        if (p.text().equals(r.text())) return true;
        return same(Shape.of(p.text()), Shape.of(r.text()), p.percent() || r.percent());
    }

    /**
     * GSM8K-style comparison of two plain numbers (commas, currency signs and surrounding text ignored by the
     * extractor): exact for integers, relative tolerance 1e-4 when a decimal is involved.
     */
    public static boolean numbersEqual(String prediction, String reference) {
        if (prediction == null || reference == null) return false;
        Num a = number(stripNumber(prediction));
        Num b = number(stripNumber(reference));
        return a != null && b != null && closeEnough(a, b);
    }

    private static String stripNumber(String s) {
        return s.strip().replace(",", "").replace("$", "").replace("€", "").replace("£", "");
    }

    // ---- collections -------------------------------------------------------------------------------------

    /** A parsed answer: a single value or a collection of parts. */
    private record Shape(Kind kind, String text, char open, char close, int rows, List<Shape> parts) {
        enum Kind { ATOM, TUPLE, SET, LIST, UNION, MATRIX }

        static Shape of(String s) {
            Matcher m = MATRIX.matcher(s);
            if (m.matches()) {
                List<Shape> cells = new ArrayList<>();
                int rows = 0;
                for (String row : m.group(2).split("\\\\\\\\")) {
                    if (row.isBlank()) continue;
                    rows++;
                    for (String cell : row.split("&")) cells.add(Shape.of(cell.strip()));
                }
                return new Shape(Kind.MATRIX, s, ' ', ' ', rows, List.copyOf(cells));
            }
            List<String> union = splitTopLevel(s, "\\cup");
            if (union.size() > 1) return new Shape(Kind.UNION, s, ' ', ' ', 0, union.stream().map(Shape::of).toList());
            if (s.startsWith("\\{") && s.endsWith("\\}") && encloses(s, 1, s.length() - 1)) {
                return new Shape(Kind.SET, s, '{', '}', 0, parts(s.substring(2, s.length() - 2)));
            }
            char first = s.isEmpty() ? ' ' : s.charAt(0), last = s.isEmpty() ? ' ' : s.charAt(s.length() - 1);
            if ((first == '(' || first == '[') && (last == ')' || last == ']') && encloses(s, 0, s.length() - 1)) {
                List<String> items = splitTopLevel(s.substring(1, s.length() - 1), ",");
                if (items.size() > 1) return new Shape(Kind.TUPLE, s, first, last, 0, items.stream().map(Shape::of).toList());
            }
            List<String> items = splitTopLevel(s, ",");
            if (items.size() > 1) return new Shape(Kind.LIST, s, ' ', ' ', 0, items.stream().map(Shape::of).toList());
            return new Shape(Kind.ATOM, s, ' ', ' ', 0, List.of());
        }

        private static List<Shape> parts(String inner) {
            return splitTopLevel(inner, ",").stream().map(Shape::of).toList();
        }

        boolean unordered() { return kind == Kind.SET || kind == Kind.LIST; }
    }

    private static boolean same(Shape a, Shape b, boolean percent) {
        if (a.kind() == Shape.Kind.ATOM && b.kind() == Shape.Kind.ATOM) return atomsEqual(a.text(), b.text(), percent);
        if (a.kind() == Shape.Kind.ATOM || b.kind() == Shape.Kind.ATOM) return false;
        if (a.unordered() && b.unordered()) return matchUnordered(a.parts(), b.parts(), percent);
        if (a.kind() != b.kind() || a.open() != b.open() || a.close() != b.close() || a.rows() != b.rows()) return false;
        if (a.parts().size() != b.parts().size()) return false;
        for (int i = 0; i < a.parts().size(); i++) {
            if (!sameOrText(a.parts().get(i), b.parts().get(i), percent)) return false;
        }
        return true;
    }

    private static boolean sameOrText(Shape a, Shape b, boolean percent) {
        return a.text().equals(b.text()) || same(a, b, percent);
    }

    private static boolean matchUnordered(List<Shape> a, List<Shape> b, boolean percent) {
        if (a.size() != b.size()) return false;
        boolean[] used = new boolean[b.size()];
        outer:
        for (Shape x : a) {
            for (int j = 0; j < b.size(); j++) {
                if (!used[j] && sameOrText(x, b.get(j), percent)) { used[j] = true; continue outer; }
            }
            return false;
        }
        return true;
    }

    /** Splits at {@code sep} where no bracket of any kind is open. */
    static List<String> splitTopLevel(String s, String sep) {
        List<String> out = new ArrayList<>();
        int depth = 0, start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') depth--;
            else if (depth == 0 && s.startsWith(sep, i)) {
                out.add(s.substring(start, i));
                start = i + sep.length();
                i = start - 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }

    /** True when the bracket at {@code open} closes exactly at {@code close} (bracket kinds may differ). */
    private static boolean encloses(String s, int open, int close) {
        int depth = 0;
        for (int i = open; i <= close; i++) {
            char c = s.charAt(i);
            if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') {
                depth--;
                if (depth == 0 && i != close) return false;
            }
        }
        return depth == 0;
    }

    // ---- single values -----------------------------------------------------------------------------------

    private static boolean atomsEqual(String a, String b, boolean percent) {
        if (a.equals(b)) return true;
        if (WORDS.matcher(a).matches() || WORDS.matcher(b).matches()) return a.equalsIgnoreCase(b);
        Num x = number(a), y = number(b);
        if (x != null && y != null) {
            if (closeEnough(x, y)) return true;
            if (!percent) return false;
            return closeEnough(x, y.scaled(100)) || closeEnough(x, y.scaled(0.01));
        }
        int ea = a.indexOf('='), eb = b.indexOf('=');
        if (ea >= 0 || eb >= 0) {
            if (ea < 0 || eb < 0 || ea != a.lastIndexOf('=') || eb != b.lastIndexOf('=')) return false;
            String da = "(" + a.substring(0, ea) + ")-(" + a.substring(ea + 1) + ")";
            String db = "(" + b.substring(0, eb) + ")-(" + b.substring(eb + 1) + ")";
            return SymbolicEquivalence.equal(da, db) || SymbolicEquivalence.equal(da, "-(" + db + ")");
        }
        return SymbolicEquivalence.equal(a, b);
    }

    /** A parsed number: exact (integer or ratio of integers) or approximate (written as a decimal). */
    record Num(BigDecimal value, boolean exact) {
        Num scaled(double factor) { return new Num(value.multiply(BigDecimal.valueOf(factor)), false); }
    }

    static Num number(String s) {
        if (INTEGER.matcher(s).matches()) return new Num(new BigDecimal(s), true);
        if (DECIMAL.matcher(s).matches()) return new Num(new BigDecimal(s.startsWith("-.") ? "-0" + s.substring(1) : s.startsWith(".") ? "0" + s : s), false);
        Matcher f = FRAC.matcher(s);
        if (f.matches()) return ratio(f.group(1) + f.group(2), f.group(3));
        Matcher sl = SLASH.matcher(s);
        if (sl.matches()) return ratio(sl.group(1), sl.group(2));
        return null;
    }

    private static Num ratio(String num, String den) {
        BigInteger n = new BigInteger(num.startsWith("--") ? num.substring(2) : num);
        BigInteger d = new BigInteger(den);
        if (d.signum() == 0) return null;
        return new Num(new BigDecimal(n).divide(new BigDecimal(d), MathContext.DECIMAL128), true);
    }

    static boolean closeEnough(Num a, Num b) {
        if (a.exact() && b.exact()) return a.value().compareTo(b.value()) == 0;
        return close(a.value().doubleValue(), b.value().doubleValue());
    }

    /** Relative tolerance 1e-4 (as {@code math.isclose(rel_tol=1e-4)}). */
    static boolean close(double a, double b) {
        if (a == b) return true;
        if (!Double.isFinite(a) || !Double.isFinite(b)) return false;
        return Math.abs(a - b) <= REL_TOL * Math.max(Math.abs(a), Math.abs(b));
    }
}

package ctlab.task;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Canonical text of a LaTeX final answer, in the spirit of the Hendrycks MATH {@code strip_string} and the
 * ToRA grader: layout-only differences ({@code \left}, spacing commands, spaces, {@code \dfrac}, {@code $},
 * degree signs, trailing units in {@code \text{}}, thousands commas, {@code .5} vs {@code 0.5}, {@code 2.0}
 * vs {@code 2}, a leading {@code x =}) vanish; anything that could change the value is kept. Whether a
 * percent sign was present is reported separately so the numeric comparison can allow ×100 and /100.
 */
final class AnswerNormalizer {
    /** The canonical text and whether the original carried a percent sign. */
    record Normalized(String text, boolean percent) {}

    private static final Pattern SPACING = Pattern.compile("(?<!\\\\)\\\\[!,;:> ]|~");
    private static final Pattern FRAC_VARIANTS = Pattern.compile("\\\\[dtc]frac(?![a-zA-Z])");
    private static final Pattern LEFT_RIGHT = Pattern.compile("\\\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])\\.?");
    private static final Pattern DEGREES = Pattern.compile("\\^\\s*\\{\\s*\\\\circ\\s*\\}|\\^\\s*\\\\circ|°|\\\\degree");
    /** A trailing unit in text form after a value: {@code 10\text{ cm}^2}, {@code 5 \mbox{inches}}. */
    private static final Pattern TRAILING_UNIT = Pattern.compile(
            "^(.*?[0-9}a-zA-Z)])\\s*\\\\(?:text|mbox|mathrm|textnormal)\\{\\s*[a-zA-Z][a-zA-Z .]*\\}(?:\\^\\{?[0-9]\\}?)?$");
    private static final Pattern TEXT_WRAPPER = Pattern.compile(
            "\\\\(?:text|textbf|textit|textnormal|mbox|mathrm|mathbf|mathit|operatorname|boxed)\\s*\\{([^{}]*)\\}");
    private static final Pattern COMMAND_THEN_LETTER = Pattern.compile("(\\\\[a-zA-Z]+)\\s+(?=[a-zA-Z])");
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final Pattern SQRT_SHORT = Pattern.compile("\\\\sqrt\\s*([0-9a-zA-Z])");
    private static final Pattern FRAC_TWO_DIGITS = Pattern.compile("\\\\frac(\\d)(\\d)");
    private static final Pattern FRAC_DIGIT_BRACE = Pattern.compile("\\\\frac(\\d)\\{");
    private static final Pattern FRAC_BRACE_DIGIT = Pattern.compile("\\\\frac\\{([^{}]*)\\}(\\d)");
    private static final Pattern THOUSANDS = Pattern.compile("-?\\d{1,3}(,\\d{3})+(\\.\\d+)?");
    private static final Pattern LEADING_POINT = Pattern.compile("(?<![0-9])\\.(\\d)");
    private static final Pattern TRAILING_ZERO_DECIMAL = Pattern.compile("(\\d)\\.0+(?![0-9])");
    private static final Pattern TRAILING_ZEROS = Pattern.compile("(\\d\\.\\d*?[1-9])0+(?![0-9])");
    private static final Pattern SHORT_LHS = Pattern.compile("[a-zA-Z](_\\{?[a-zA-Z0-9]+\\}?)?|\\\\[a-zA-Z]+");
    private static final Pattern INT_SLASH_INT = Pattern.compile("(-?\\d+)/(\\d+)");
    private static final Pattern CHOICE = Pattern.compile("\\(([A-Ea-e])\\)");
    private static final Pattern IN_SET = Pattern.compile("^[a-zA-Z]\\\\in(?![a-zA-Z])");

    private AnswerNormalizer() {}

    static Normalized normalize(String answer) {
        String s = answer.strip().replace('\n', ' ');
        s = s.replace("\\$", "").replace("$", "");
        s = SPACING.matcher(s).replaceAll(" ");
        s = s.replace("\\displaystyle", "").replace("\\textstyle", "");
        s = FRAC_VARIANTS.matcher(s).replaceAll("\\\\frac");
        s = LEFT_RIGHT.matcher(s).replaceAll("");
        s = DEGREES.matcher(s).replaceAll("");
        boolean percent = s.contains("%");
        s = s.replace("\\%", "").replace("%", "");
        s = s.strip();
        Matcher unit = TRAILING_UNIT.matcher(s);
        if (unit.matches() && unit.group(1).matches(".*\\d.*")) s = unit.group(1);
        for (String prev = ""; !prev.equals(s); ) {  // unwrap nested \text{...}
            prev = s;
            s = TEXT_WRAPPER.matcher(s).replaceAll(m -> Matcher.quoteReplacement(m.group(1)));
        }
        s = s.replaceAll("\\s+and\\s+", ",");
        s = s.replace("∞", "\\infty").replaceAll("(?<![a-zA-Z\\\\])(?:infinity|inf)(?![a-zA-Z])", "\\\\infty");
        s = s.replace("{,}", ",");
        s = s.strip();
        while (s.endsWith(".")) s = s.substring(0, s.length() - 1).strip();
        s = COMMAND_THEN_LETTER.matcher(s).replaceAll("$1\u0000");
        s = WHITESPACE.matcher(s).replaceAll("").replace('\u0000', ' ');
        s = IN_SET.matcher(s).replaceAll("");
        s = SQRT_SHORT.matcher(s).replaceAll("\\\\sqrt{$1}");
        s = FRAC_TWO_DIGITS.matcher(s).replaceAll("\\\\frac{$1}{$2}");
        s = FRAC_DIGIT_BRACE.matcher(s).replaceAll("\\\\frac{$1}{");
        s = FRAC_BRACE_DIGIT.matcher(s).replaceAll("\\\\frac{$1}{$2}");
        if (THOUSANDS.matcher(s).matches()) s = s.replace(",", "");
        s = LEADING_POINT.matcher(s).replaceAll("0.$1");
        s = TRAILING_ZERO_DECIMAL.matcher(s).replaceAll("$1");
        s = TRAILING_ZEROS.matcher(s).replaceAll("$1");
        s = dropShortLhs(s);
        Matcher slash = INT_SLASH_INT.matcher(s);
        if (slash.matches()) s = "\\frac{" + slash.group(1) + "}{" + slash.group(2) + "}";
        Matcher choice = CHOICE.matcher(s);
        if (choice.matches()) s = choice.group(1).toUpperCase();
        return new Normalized(s, percent);
    }

    /** {@code x=5} → {@code 5}, {@code \theta=\frac{\pi}{2}} → {@code \frac{\pi}{2}}; longer left sides stay. */
    private static String dropShortLhs(String s) {
        int eq = s.indexOf('=');
        if (eq <= 0 || eq != s.lastIndexOf('=') || eq == s.length() - 1) return s;
        String lhs = s.substring(0, eq);
        return SHORT_LHS.matcher(lhs).matches() ? s.substring(eq + 1) : s;
    }
}

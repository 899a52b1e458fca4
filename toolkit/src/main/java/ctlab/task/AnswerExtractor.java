package ctlab.task;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pulls the final answer out of a model response.
 * <ul>
 * <li>GSM8K: the first number after "the answer is" (as the official code does, so text the model runs on
 *     with after its answer is ignored), else the number after the last {@code ####}, else the last number
 *     in the response. Currency signs and thousands commas are dropped; the number is returned as written
 *     otherwise ({@code "18"}, {@code "-2.5"}).</li>
 * <li>MATH: the content of the last {@code \boxed{...}} / {@code \fbox{...}} (nested braces), else the
 *     {@code $X$} after the last "final answer is", else the content of the last {@code $...$}. Returned raw
 *     (trimmed, trailing full stop dropped); {@link MathEquivalence} normalises.</li>
 * </ul>
 * Both first cut the response at the first stop string ({@link Prompts#STOP_STRINGS}): text after it is the
 * model starting a new few-shot problem, not its answer to this one.
 */
public final class AnswerExtractor {
    private static final Pattern NUMBER = Pattern.compile("-?(\\d+(\\.\\d+)?|\\.\\d+)");
    /** A comma between digits that is followed by exactly three digits: a thousands separator. */
    private static final Pattern THOUSANDS_COMMA = Pattern.compile("(?<=\\d),(?=\\d{3}(?!\\d))");
    private static final Pattern ANSWER_IS = Pattern.compile("(?i)the answer is");
    private static final Pattern FINAL_ANSWER_IS = Pattern.compile("(?i)final answer is");

    private AnswerExtractor() {}

    public static String gsm8k(String response) {
        if (response == null) return null;
        String text = THOUSANDS_COMMA.matcher(beforeStop(response)).replaceAll("");
        Matcher is = ANSWER_IS.matcher(text);
        if (is.find()) {
            String n = firstNumber(text.substring(is.end()));
            if (n != null) return n;
        }
        int hashes = text.lastIndexOf("####");
        if (hashes >= 0) {
            String n = firstNumber(text.substring(hashes + 4));
            if (n != null) return n;
        }
        return lastNumber(text);
    }

    public static String math(String response) {
        if (response == null) return null;
        response = beforeStop(response);
        String boxed = lastBoxed(response);
        if (boxed != null) return clean(boxed);
        Matcher fa = FINAL_ANSWER_IS.matcher(response);
        int last = -1;
        while (fa.find()) last = fa.end();
        if (last >= 0) {
            String inMath = firstMath(response.substring(last));
            if (inMath != null) return clean(inMath);
        }
        String lastMath = lastMath(response);
        return lastMath == null ? null : clean(lastMath);
    }

    /** The response up to the first stop string (the whole response when there is none). */
    static String beforeStop(String response) {
        int cut = response.length();
        for (String stop : Prompts.STOP_STRINGS) {
            int at = response.indexOf(stop);
            if (at >= 0 && at < cut) cut = at;
        }
        return response.substring(0, cut);
    }

    /** Content of the last {@code \boxed{...}} or {@code \fbox{...}} (or {@code \boxed x}); null if none. */
    public static String lastBoxed(String text) {
        int at = Math.max(text.lastIndexOf("\\boxed"), text.lastIndexOf("\\fbox"));
        if (at < 0) return null;
        int i = at + (text.startsWith("\\boxed", at) ? 6 : 5);
        if (i < text.length() && text.charAt(i) == '{') return braced(text, i);
        if (i < text.length() && text.charAt(i) == ' ') {  // "\boxed 5$": up to the closing dollar
            String rest = text.substring(i + 1);
            int end = rest.indexOf('$');
            String v = (end >= 0 ? rest.substring(0, end) : rest).strip();
            return v.isEmpty() ? null : v;
        }
        return null;
    }

    /** Content of the brace group opening at {@code open}; escaped braces do not count. Null if unclosed. */
    static String braced(String text, int open) {
        int depth = 0;
        for (int i = open; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\') { i++; continue; }
            if (c == '{') depth++;
            else if (c == '}' && --depth == 0) return text.substring(open + 1, i);
        }
        return null;
    }

    private static String firstMath(String text) {
        int[] span = mathSpans(text, true);
        return span == null ? null : text.substring(span[0], span[1]);
    }

    private static String lastMath(String text) {
        int[] span = mathSpans(text, false);
        return span == null ? null : text.substring(span[0], span[1]);
    }

    /** First or last {@code $...$} / {@code $$...$$} span (content bounds); unescaped dollars pair in order. */
    private static int[] mathSpans(String text, boolean first) {
        int[] found = null;
        int i = 0;
        while (i < text.length()) {
            int open = nextDollar(text, i);
            if (open < 0) break;
            int width = text.startsWith("$$", open) ? 2 : 1;
            int close = text.indexOf(width == 2 ? "$$" : "$", open + width);
            while (close > 0 && text.charAt(close - 1) == '\\') close = text.indexOf(width == 2 ? "$$" : "$", close + 1);
            if (close < 0) break;
            if (close > open + width) {
                found = new int[] {open + width, close};
                if (first) return found;
            }
            i = close + width;
        }
        return found;
    }

    private static int nextDollar(String text, int from) {
        for (int i = from; i < text.length(); i++) {
            if (text.charAt(i) == '\\') { i++; continue; }
            if (text.charAt(i) == '$') return i;
        }
        return -1;
    }

    private static String clean(String answer) {
        String a = answer.strip();
        while (a.endsWith(".") || a.endsWith(",")) a = a.substring(0, a.length() - 1).strip();
        return a.isEmpty() ? null : a;
    }

    private static String firstNumber(String text) {
        Matcher m = NUMBER.matcher(stripCurrency(text));
        return m.find() ? m.group() : null;
    }

    private static String lastNumber(String text) {
        Matcher m = NUMBER.matcher(stripCurrency(text));
        String last = null;
        while (m.find()) last = m.group();
        return last;
    }

    private static String stripCurrency(String text) {
        return text.replace("$", "").replace("€", "").replace("£", "");
    }
}

package ctlab;

/**
 * An error the user can cause (bad file, bad config key, bad flag). The message names the file, line or
 * key. The CLI prints only the message and exits non-zero; bugs stay ordinary exceptions with stack traces.
 */
public class CtlabException extends RuntimeException {
    public CtlabException(String message) { super(message); }
    public CtlabException(String message, Throwable cause) { super(message, cause); }

    /** A number as error messages show it: {@code 1} rather than {@code 1.0}, else Java's shortest form. */
    public static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return String.format(java.util.Locale.ROOT, "%s", v);
    }
}

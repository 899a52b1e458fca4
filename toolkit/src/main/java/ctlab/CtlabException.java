package ctlab;

/**
 * An error the user can cause (bad file, bad config key, bad flag). The message names the file, line or
 * key. The CLI prints only the message and exits non-zero; bugs stay ordinary exceptions with stack traces.
 */
public class CtlabException extends RuntimeException {
    public CtlabException(String message) { super(message); }
    public CtlabException(String message, Throwable cause) { super(message, cause); }
}

package ctlab.run;

import ctlab.CtlabException;

/**
 * A config value that fails validation, naming its key. Record constructors throw it with the key relative
 * to their own section ({@code beta}); {@link ConfigLoader} prefixes the section path and the file, so the
 * user reads {@code my.yaml: train.beta: must be > 0, got -1}.
 */
public class ConfigKeyException extends CtlabException {
    private final String key;
    private final String problem;

    public ConfigKeyException(String key, String problem) {
        super(key + ": " + problem);
        this.key = key;
        this.problem = problem;
    }

    public String key() { return key; }
    public String problem() { return problem; }
}

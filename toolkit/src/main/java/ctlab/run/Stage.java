package ctlab.run;

import java.util.List;

/**
 * One step of the pipeline. A stage reads files (outputs of earlier stages or files outside the run),
 * writes files into its own folder ({@code NN-name/}) and is otherwise stateless, so the {@link Pipeline}
 * can skip it when done, resume it when cut off and refuse to mix results from different configs.
 *
 * <p>To resume, a stage appends per-record output through {@link StageContext#resumable} (only missing
 * records are produced) or restarts from its own checkpoint; it must produce the same bytes whether or not
 * it was interrupted (derive randomness from {@link StageContext#seed}, never from the clock).
 */
public interface Stage {
    /** Short lower-case name used in folder names, {@code --only}/{@code --force} and as a subcommand. */
    String name();

    /** One line for {@code --list-stages} and the subcommand's {@code --help}. */
    String description();

    /**
     * Config keys (top-level or dotted, e.g. {@code seed}, {@code sample}, {@code train.lora}) whose values
     * decide this stage's outputs. Their values are hashed into the stage's completion marker; a change
     * after the stage finished is refused. Leave out paths (their contents are hashed as {@link #inputs}).
     */
    List<String> configKeys();

    /** Files or folders this stage reads; content hashes go into the completion marker. */
    List<Input> inputs(RunConfig config);

    /** Files or folders (relative to the stage folder) that must exist when the stage finishes. */
    List<String> outputs();

    /** {@link #outputs()} under {@code config}, for a stage whose files depend on a config key; the pipeline asks this. */
    default List<String> outputs(RunConfig config) { return outputs(); }

    /** Does the work. Long loops call {@link StageContext#checkInterrupted()} between records or steps. */
    void run(StageContext ctx) throws Exception;

    /** A file read by a stage: the output of an earlier stage, or a path outside the run directory. */
    record Input(String stage, String path) {
        public Input {
            if (path == null || path.isBlank()) throw new IllegalArgumentException("input path is empty");
        }

        /** File {@code path} in the folder of the earlier stage {@code stage}. */
        public static Input fromStage(String stage, String path) { return new Input(stage, path); }

        /** A file or folder outside the run (model, data set); relative paths resolve against the working dir. */
        public static Input external(String path) { return new Input(null, path); }

        public boolean isExternal() { return stage == null; }

        @Override public String toString() { return isExternal() ? path : stage + ":" + path; }
    }
}

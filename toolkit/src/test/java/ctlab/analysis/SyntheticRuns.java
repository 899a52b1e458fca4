package ctlab.analysis;

import java.nio.file.Path;

/** Public face of the synthetic run directory for tests in other packages (viz, cli). */
public final class SyntheticRuns {
    private SyntheticRuns() {}

    public static final TokenTexts TEXTS = SyntheticRun.TEXTS;

    /** Writes a synthetic run of {@code problems} problems with stages 1..{@code lastStage}. */
    public static Path write(Path root, int problems, int lastStage) throws Exception {
        return new SyntheticRun(problems).write(root, lastStage);
    }
}

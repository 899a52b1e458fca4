package ctlab.task;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds a shared data file for tests, or skips the test with a message saying what is missing. */
final class SharedData {
    private SharedData() {}

    static Path require(DataFile file) {
        Path dir = DataPaths.dataDir().orElse(null);
        Assumptions.assumeTrue(dir != null,
                "skipped: shared datasets not found (set -Dctlab.shared or CTLAB_SHARED / CTLAB_DATA)");
        Path p = dir.resolve(file.relativePath());
        Assumptions.assumeTrue(Files.isRegularFile(p), "skipped: " + p + " is absent");
        return p;
    }
}

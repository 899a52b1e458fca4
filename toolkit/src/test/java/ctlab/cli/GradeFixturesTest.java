package ctlab.cli;

import ctlab.io.Jsonl;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The examples documented in datasets/README.md grade to their committed expected outputs. */
class GradeFixturesTest {
    @TempDir Path dir;

    @ParameterizedTest
    @CsvSource({"math, grade-example", "gsm8k, grade-example-gsm8k"})
    void documentedExampleGradesAsDocumented(String task, String name) throws Exception {
        Path fixtures = Path.of("..", "datasets", "fixtures");
        Path in = fixtures.resolve(name + ".jsonl");
        assertTrue(Files.isRegularFile(in), "fixture missing: " + in.toAbsolutePath());
        Path out = dir.resolve("results.jsonl");
        int code = Main.commandLine().execute("grade", "--task", task, "--input", in.toString(), "--output", out.toString());
        assertEquals(0, code);
        var expected = Jsonl.read(fixtures.resolve(name + ".expected.jsonl"));
        var actual = Jsonl.read(out);
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).json(), actual.get(i).json(), "line " + (i + 1));
        }
    }
}

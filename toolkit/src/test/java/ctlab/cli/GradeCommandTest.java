package ctlab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ctlab grade} end to end through {@link Main#commandLine()}. */
class GradeCommandTest {
    @TempDir Path dir;
    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int grade(String task, Path in, Path outFile) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute("grade", "--task", task, "--input", in.toString(), "--output", outFile.toString());
    }

    private Path write(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void gradesResponsesAndPredictionsKeepingIdsAsTheyAre() throws Exception {
        Path in = write("pairs.jsonl", """
                {"id": 7, "reference": "\\\\frac{1}{2}", "response": "So $x = \\\\boxed{\\\\dfrac12}$."}
                {"id": "b", "reference": "(1,2)", "prediction": "(2,1)"}
                {"id": {"problem": 3, "sample": 0}, "reference": "5", "response": "no math here"}
                {"id": [1, 2], "reference": "10", "prediction": null}
                """);
        Path results = dir.resolve("results.jsonl");
        assertEquals(0, grade("math", in, results), err.toString());
        List<Jsonl.Line> lines = Jsonl.read(results);
        assertEquals(4, lines.size());
        JsonNode first = lines.get(0).json();
        assertEquals(7, first.get("id").intValue());
        assertEquals("\\dfrac12", first.get("extracted").asText());
        assertTrue(first.get("equal").booleanValue());
        assertEquals("b", lines.get(1).json().get("id").asText());
        assertFalse(lines.get(1).json().get("equal").booleanValue());
        assertEquals(3, lines.get(2).json().get("id").get("problem").intValue());
        assertTrue(lines.get(2).json().get("extracted").isNull());
        assertFalse(lines.get(2).json().get("equal").booleanValue());
        assertTrue(lines.get(3).json().get("id").isArray());
        assertEquals(List.of("id", "extracted", "equal"), fieldNames(first));
        assertTrue(out.toString().contains("graded 4 lines: 1 equal"), out.toString());
    }

    @Test
    void organismTaskIsAvailableByName() throws Exception {
        Path in = write("o.jsonl", """
                {"id": "o1", "reference": "42", "response": "Adam has 40. 40 + 2 = 42. The answer is 42."}
                {"id": "o2", "reference": "7", "response": "9 - 3 = 6. The answer is 6."}
                """);
        Path results = dir.resolve("o-results.jsonl");
        assertEquals(0, grade("organism", in, results), err.toString());
        List<Jsonl.Line> lines = Jsonl.read(results);
        assertEquals("42", lines.get(0).json().get("extracted").asText());
        assertTrue(lines.get(0).json().get("equal").booleanValue());
        assertEquals("6", lines.get(1).json().get("extracted").asText());
        assertFalse(lines.get(1).json().get("equal").booleanValue());
    }

    @Test
    void gsm8kResponsesUseTheAnswerIsRule() throws Exception {
        Path in = write("g.jsonl", """
                {"id": "q1", "reference": "1,080", "response": "3 * 360 = 1080. The answer is 1,080.\\n\\nQuestion: next"}
                {"id": "q2", "reference": "18", "response": "16 - 3 - 4 = 9 eggs, 9 * 2 = 18 dollars. #### 18"}
                {"id": "q3", "reference": "18", "response": "I think 17 or maybe 19"}
                """);
        Path results = dir.resolve("r.jsonl");
        assertEquals(0, grade("gsm8k", in, results));
        List<Jsonl.Line> lines = Jsonl.read(results);
        assertEquals("1080", lines.get(0).json().get("extracted").asText());
        assertTrue(lines.get(0).json().get("equal").booleanValue());
        assertTrue(lines.get(1).json().get("equal").booleanValue());
        assertEquals("19", lines.get(2).json().get("extracted").asText());
        assertFalse(lines.get(2).json().get("equal").booleanValue());
    }

    @Test
    void badLinesAreReportedWithLineNumbersAndDoNotStopTheOthers() throws Exception {
        Path in = write("bad.jsonl", """
                {"id": 1, "reference": "5", "prediction": "5"}
                this is not json
                {"id": 3, "prediction": "5"}
                {"reference": "5", "prediction": "5"}
                {"id": 5, "reference": "5"}
                {"id": 6, "reference": "5", "prediction": "5", "response": "5"}
                [1, 2]
                {"id": 8, "reference": "4", "prediction": "4.0"}
                """);
        Path results = dir.resolve("out.jsonl");
        assertEquals(2, grade("math", in, results));
        String e = err.toString();
        assertTrue(e.contains(in + ":2: not valid JSON"), e);
        assertTrue(e.contains(in + ":3: missing field 'reference'"), e);
        assertTrue(e.contains(in + ":4: missing field 'id'"), e);
        assertTrue(e.contains(in + ":5: missing field 'response' (or 'prediction')"), e);
        assertTrue(e.contains(in + ":6: has both"), e);
        assertTrue(e.contains(in + ":7: expected a JSON object"), e);
        List<Jsonl.Line> lines = Jsonl.read(results);
        assertEquals(2, lines.size());
        assertEquals(8, lines.get(1).json().get("id").intValue());
        assertTrue(lines.get(1).json().get("equal").booleanValue());
    }

    @Test
    void unreadableInputsFailWithExitTwoAndWriteNothing() throws Exception {
        Path results = dir.resolve("never.jsonl");
        Path empty = write("empty.jsonl", "\n\n");
        assertEquals(2, grade("math", empty, results));
        assertTrue(err.toString().contains("empty file"), err.toString());

        Path latin1 = dir.resolve("latin1.jsonl");
        Files.write(latin1, "{\"id\": 1, \"reference\": \"caf\u00e9\", \"prediction\": \"x\"}\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(2, grade("math", latin1, results));
        assertTrue(err.toString().contains(latin1 + ": not valid UTF-8"), err.toString());

        assertEquals(2, grade("math", dir.resolve("missing.jsonl"), results));
        assertTrue(err.toString().contains("file not found"), err.toString());

        assertEquals(2, grade("chess", empty, results));
        assertTrue(err.toString().contains("unknown task 'chess'"), err.toString());
        assertFalse(Files.exists(results));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains("never")), "no temp files left");
        }
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }
}

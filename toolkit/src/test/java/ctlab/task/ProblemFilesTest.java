package ctlab.task;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loaders: valid files load, and each kind of bad input is an error naming file, line and field. */
class ProblemFilesTest {
    @TempDir Path dir;

    private static final String MATH_OK = "{\"problem\": \"Compute $1+1$.\", \"solution\": \"$1+1=\\\\boxed{2}$.\", "
            + "\"answer\": \"2\", \"subject\": \"Algebra\", \"level\": 1, \"unique_id\": \"test/algebra/1.json\"}";

    private Path write(String text) throws Exception {
        Path p = dir.resolve("data.jsonl");
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    private String mathError(String text) throws Exception {
        Path p = write(text);
        return assertThrows(CtlabException.class, () -> Task.MATH.load(p)).getMessage();
    }

    private String gsm8kError(String text) throws Exception {
        Path p = write(text);
        return assertThrows(CtlabException.class, () -> Task.GSM8K.load(p)).getMessage();
    }

    @Test
    void loadsGsm8kWithCommasAndStableIds() throws Exception {
        Path p = dir.resolve("test.jsonl");
        Files.writeString(p, """
                {"question": "How many?", "answer": "It is 1000+80=<<1000+80=1080>>1080\\n#### 1,080"}
                {"question": "And now?", "answer": "2-3=-1\\n#### -1"}
                """);
        List<Problem> ps = Task.GSM8K.load(p);
        assertEquals(2, ps.size());
        assertEquals("gsm8k/test/0", ps.get(0).id());
        assertEquals("1080", ps.get(0).answer());
        assertEquals("-1", ps.get(1).answer());
        assertEquals("How many?", ps.get(0).question());
        assertTrue(ps.get(0).solution().endsWith("#### 1,080"));
    }

    @Test
    void loadsMathWithMetadata() throws Exception {
        List<Problem> ps = Task.MATH.load(write(MATH_OK + "\n"));
        Problem p = ps.get(0);
        assertEquals("test/algebra/1.json", p.id());
        assertEquals("2", p.answer());
        assertEquals("Algebra", p.subject());
        assertEquals(1, p.level());
        assertEquals(Map.of("subject", "Algebra", "level", 1, "unique_id", "test/algebra/1.json"), p.metadata());
    }

    @Test
    void lineThatIsNotJson() throws Exception {
        String m = mathError(MATH_OK + "\n{\"problem\": \"unterminated\n");
        assertTrue(m.contains("data.jsonl:2: not valid JSON"), m);
    }

    @Test
    void recordMissingAField() throws Exception {
        String m = mathError(MATH_OK + "\n" + MATH_OK.replace("\"answer\": \"2\", ", "").replace("/1.json", "/2.json") + "\n");
        assertTrue(m.contains("data.jsonl:2: missing field 'answer'"), m);
        String g = gsm8kError("{\"answer\": \"#### 3\"}\n");
        assertTrue(g.contains("data.jsonl:1: missing field 'question'"), g);
    }

    @Test
    void fieldOfTheWrongType() throws Exception {
        String m = mathError(MATH_OK.replace("\"answer\": \"2\"", "\"answer\": [\"2\"]"));
        assertTrue(m.contains("data.jsonl:1: field 'answer' must be a string"), m);
    }

    @Test
    void nonUtf8File() throws Exception {
        Path p = dir.resolve("latin1.jsonl");
        Files.write(p, "{\"question\": \"caf\u00e9?\", \"answer\": \"#### 1\"}\n".getBytes(StandardCharsets.ISO_8859_1));
        String m = assertThrows(CtlabException.class, () -> Task.GSM8K.load(p)).getMessage();
        assertTrue(m.contains("latin1.jsonl: not valid UTF-8"), m);
    }

    @Test
    void emptyFile() throws Exception {
        assertTrue(mathError("").contains("data.jsonl: empty file"));
        assertTrue(gsm8kError("\n  \n").contains("data.jsonl: empty file"));
    }

    @Test
    void levelOutsideOneToFive() throws Exception {
        String m = mathError(MATH_OK.replace("\"level\": 1", "\"level\": 6"));
        assertTrue(m.contains("data.jsonl:1: field 'level' must be 1-5, got 6"), m);
        String zero = mathError(MATH_OK.replace("\"level\": 1", "\"level\": 0"));
        assertTrue(zero.contains("must be 1-5, got 0"), zero);
        String text = mathError(MATH_OK.replace("\"level\": 1", "\"level\": \"hard\""));
        assertTrue(text.contains("field 'level' must be an integer 1-5"), text);
        assertEquals(3, Task.MATH.load(write(MATH_OK.replace("\"level\": 1", "\"level\": \"Level 3\""))).get(0).level());
    }

    @Test
    void gsm8kAnswerWithoutHashes() throws Exception {
        String m = gsm8kError("{\"question\": \"q\", \"answer\": \"#### 4\"}\n{\"question\": \"q2\", \"answer\": \"just 4\"}\n");
        assertTrue(m.contains("data.jsonl:2: field 'answer' has no '#### <final answer>' line"), m);
        String n = gsm8kError("{\"question\": \"q\", \"answer\": \"so\\n#### four\"}\n");
        assertTrue(n.contains("data.jsonl:1: field 'answer': final answer after '####' is not a number: 'four'"), n);
    }

    @Test
    void duplicateMathIds() throws Exception {
        String m = mathError(MATH_OK + "\n" + MATH_OK + "\n");
        assertTrue(m.contains("data.jsonl:2: field 'unique_id': duplicate"), m);
    }

    @Test
    void realFilesLoadWithTheDocumentedCounts() {
        List<Problem> math = Task.MATH.load(SharedData.require(DataFile.MATH500));
        assertEquals(500, math.size());
        assertEquals(134, math.stream().filter(p -> p.level() == 5).count());
        assertEquals(124, math.stream().filter(p -> "Algebra".equals(p.subject())).count());
        List<Problem> test = Task.GSM8K.load(SharedData.require(DataFile.GSM8K_TEST));
        assertEquals(test, DataFile.GSM8K_TEST.load());
        assertEquals(1319, test.size());
        assertEquals("3", test.get(1).answer());
    }
}

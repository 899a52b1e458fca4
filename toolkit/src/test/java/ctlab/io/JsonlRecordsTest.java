package ctlab.io;

import ctlab.CtlabException;
import ctlab.data.PreferencePair;
import ctlab.data.ProblemSamples;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The one strict record reader: every run file is read through it; errors are one line naming file:line and field. */
class JsonlRecordsTest {
    @TempDir Path dir;

    static PreferencePair pair() {
        return new PreferencePair("p1/0", "p1", "Q: 1+1?\nA: ", " 2", " 3", "2", "3", "2", "p1#0", "p1#1",
                new int[] {0, 5, 6}, new int[] {7}, new int[] {8, 9});
    }

    String error(String line) throws Exception {
        Path f = dir.resolve("pairs.jsonl");
        Files.writeString(f, Jsonl.toLine(pair()) + "\n" + line + "\n");
        String msg = assertThrows(CtlabException.class, () -> Jsonl.read(f, PreferencePair.class)).getMessage();
        assertTrue(msg.startsWith(f + ":2: not a PreferencePair record ("), msg);
        assertFalse(msg.contains("\n"), "one line: " + msg);
        return msg;
    }

    @Test void recordsRoundTripWithTheirIds() throws Exception {
        Path f = dir.resolve("pairs.jsonl");
        Jsonl.writeAll(f, List.of(pair(), pair()));
        List<PreferencePair> back = Jsonl.read(f, PreferencePair.class);
        assertEquals(2, back.size());
        assertTrue(pair().sameIds(back.get(1)));
        assertArrayEquals(new int[] {8, 9}, back.get(0).rejectedIds());
    }

    @Test void badFieldsAreNamed() throws Exception {
        String good = Jsonl.toLine(pair());
        assertTrue(error(good.replace("\"rejected_ids\":[8,9]", "\"rejected_ids\":\"8 9\"")).contains("field 'rejected_ids'"));
        assertTrue(error(good.replace(",\"rejected_ids\":[8,9]", "")).contains("rejected_ids is missing"));
        assertTrue(error(good.replace("\"pair_id\":\"p1/0\",", "")).contains("missing field 'pair_id'"));
        assertTrue(error(good.replace("\"prompt_ids\":[0,5,6]", "\"prompt_ids\":[0,-5,6]")).contains("prompt_ids[1] = -5"));
        assertTrue(error(good.replace("{", "{\"extra\":1,")).contains("extra"));
    }

    @Test void aSamplesRecordNeedsResponseIdsThatArePrefixOfTheGeneratedIds() throws Exception {
        ProblemSamples.Sample s = new ProblemSamples.Sample("p#0", 0, "x", ctlab.sample.Sampler.FinishReason.EOS, 3, -1,
                new int[] {4, 5, 1}, new int[] {4, 5});
        Path f = dir.resolve("samples.jsonl");
        Files.writeString(f, Jsonl.toLine(new ProblemSamples("p", "q", new int[] {0, 3}, "1", 7, List.of(s)))
                .replace("\"response_ids\":[4,5]", "\"response_ids\":[4,6]") + "\n");
        String msg = assertThrows(CtlabException.class, () -> Jsonl.read(f, ProblemSamples.class)).getMessage();
        assertTrue(msg.startsWith(f + ":1: ") && msg.contains("response_ids must be a prefix of token_ids"), msg);
    }
}

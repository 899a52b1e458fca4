package ctlab.data;

import ctlab.CtlabException;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The two layouts of a {@link ScoredPair}'s scores: official (ce_prob over prompt + response from token 1,
 * response_start_idx = P − 1) and response-only (score-ce with {@code ce.prompt_scores: false}: ce_prob = the R
 * response scores, response_start_idx = 0). Both give the same response scores; anything else is refused.
 */
class ScoredPairLayoutTest {
    @TempDir Path dir;

    // prompt of 3 ids, chosen of 3, rejected of 2
    static final PreferencePair PAIR = new PreferencePair("p/0", "p", "Q ", " 2+2=4", " 5", "4", "5", "4", "p#0", "p#1",
            new int[] {1, 2, 3}, new int[] {10, 11, 12}, new int[] {20, 21});
    static final double[] POS_FULL = {0.5, 0.25, 0.9, 0.125, 1.0}, NEG_FULL = {0.5, 0.25, 0.0625, 0.75};

    static double[] tail(double[] a, int n) { return Arrays.copyOfRange(a, a.length - n, a.length); }

    @Test void bothLayoutsGiveTheSameResponseScores() throws Exception {
        ScoredPair full = new ScoredPair(PAIR, ScoredSide.ofSequence(POS_FULL, 3, " 2+2=4"), ScoredSide.ofSequence(NEG_FULL, 3, " 5"));
        ScoredPair resp = new ScoredPair(PAIR, ScoredSide.ofResponse(tail(POS_FULL, 3), " 2+2=4"),
                ScoredSide.ofResponse(tail(NEG_FULL, 2), " 5"));
        assertTrue(full.hasPromptScores());
        assertFalse(resp.hasPromptScores());
        assertArrayEquals(full.chosenScores(), resp.chosenScores());
        assertArrayEquals(full.rejectedScores(), resp.rejectedScores());
        assertArrayEquals(new double[] {0.9, 0.125, 1.0}, resp.chosenScores());
        assertEquals(0, resp.pos().responseStartIdx());
        assertEquals(3, resp.pos().responseTokenCount());
        // a file in the response-only layout reads back as written
        Path file = dir.resolve("pairs-scored.jsonl");
        try (Jsonl.Appender a = new Jsonl.Appender(file)) { a.append(resp); }
        assertTrue(Files.readString(file).contains("\"ce_prob\":[0.9,0.125,1.0],\"response_start_idx\":0"));
        ScoredPair back = Jsonl.read(file, ScoredPair.class).get(0);
        assertEquals(resp.pos(), back.pos());
        assertArrayEquals(full.rejectedScores(), back.rejectedScores());
    }

    @Test void aOneTokenPromptMakesTheLayoutsCoincide() {
        PreferencePair p = new PreferencePair("p/0", "p", "Q ", "a", "b", "4", "5", "4", "p#0", "p#1",
                new int[] {1}, new int[] {10, 11}, new int[] {20});
        ScoredPair s = new ScoredPair(p, ScoredSide.ofResponse(new double[] {0.5, 0.25}, "a"),
                ScoredSide.ofSequence(new double[] {0.75}, 1, "b"));
        assertTrue(s.hasPromptScores());
        assertArrayEquals(new double[] {0.5, 0.25}, s.chosenScores());
    }

    @Test void inconsistentLayoutsAreOneLineErrorsNamingTheField() throws Exception {
        // response-only chosen, official rejected
        IllegalArgumentException mixed = assertThrows(IllegalArgumentException.class, () -> new ScoredPair(PAIR,
                ScoredSide.ofResponse(tail(POS_FULL, 3), "c"), ScoredSide.ofSequence(NEG_FULL, 3, "r")));
        assertTrue(mixed.getMessage().contains("same layout"), mixed.getMessage());
        // response_start_idx 0 but not R scores; official start but a score short
        for (ScoredSide bad : List.of(ScoredSide.ofResponse(tail(POS_FULL, 4), "c"), new ScoredSide(tail(POS_FULL, 4), 2, "c"),
                new ScoredSide(POS_FULL, 1, "c"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new ScoredPair(PAIR, bad, ScoredSide.ofSequence(NEG_FULL, 3, "r")));
            assertTrue(e.getMessage().startsWith("pos.ce_prob: "), e.getMessage());
            assertTrue(e.getMessage().contains("expected 5 from 2, or 3 from 0"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
        // in a file: the reader names the file and line
        Path file = dir.resolve("bad.jsonl");
        String good = Jsonl.MAPPER.writeValueAsString(new ScoredPair(PAIR, ScoredSide.ofResponse(tail(POS_FULL, 3), "c"),
                ScoredSide.ofResponse(tail(NEG_FULL, 2), "r")));
        Files.writeString(file, good + "\n" + good.replace("[0.0625,0.75]", "[0.0625]") + "\n");
        CtlabException e = assertThrows(CtlabException.class, () -> Jsonl.read(file, ScoredPair.class));
        assertTrue(e.getMessage().contains("bad.jsonl:2") && e.getMessage().contains("neg.ce_prob"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}

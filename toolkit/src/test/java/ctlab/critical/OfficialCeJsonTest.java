package ctlab.critical;

import ctlab.CtlabException;
import ctlab.data.PreferencePair;
import ctlab.data.ScoredPair;
import ctlab.data.ScoredSide;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OfficialCeJsonTest {
    @TempDir Path dir;

    static List<ScoredPair> pairs() {
        // prompt of 3 tokens (BOS + 2): response_start_idx 2; chosen has 3 response tokens, rejected 2
        ScoredSide pos = ScoredSide.ofSequence(new double[] {0.5, 0.25, 0.9, 0.125, 1.0}, 3, " 2+2=4");
        ScoredSide neg = ScoredSide.ofSequence(new double[] {0.5, 0.25, 0.0625, 0.75}, 3, " 5");
        ScoredSide pos2 = new ScoredSide(new double[] {0.3, 0.2}, 1, "x");
        ScoredSide neg2 = new ScoredSide(new double[] {0.3, 0.4, 0.6}, 1, "yz");
        return List.of(new ScoredPair(pair("gsm8k-1", "Question: 2+2?\nAnswer: ", " 2+2=4", " 5", 3, 3, 2), pos, neg),
                new ScoredPair(pair("gsm8k-2", "Q2 \"quoted\" é", "x", "yz", 2, 1, 2), pos2, neg2));
    }

    static PreferencePair pair(String problem, String prompt, String chosen, String rejected, int p, int c, int r) {
        return new PreferencePair(problem + "/0", problem, prompt, chosen, rejected, "4", "5", "4", problem + "#0",
                problem + "#1", ids(p, 1), ids(c, 10), ids(r, 20));
    }

    static int[] ids(int n, int first) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = first + i;
        return out;
    }

    @Test void exportThenImportRoundTrips() {
        Path file = dir.resolve("scored.json");
        OfficialCeJson.write(file, pairs());
        List<OfficialCeJson.Entry> back = OfficialCeJson.read(file);
        assertEquals(2, back.size());
        for (int i = 0; i < 2; i++) {
            ScoredPair a = pairs().get(i);
            OfficialCeJson.Entry b = back.get(i);
            assertEquals(a.prompt(), b.prompt());
            assertEquals(a.chosen(), b.chosen());
            assertEquals(a.rejected(), b.rejected());
            assertEquals(a.pos(), b.pos());
            assertEquals(a.neg(), b.neg());
        }
        assertArrayEquals(new double[] {0.9, 0.125, 1.0}, back.get(0).pos().responseScores());
        assertArrayEquals(new double[] {0.0625, 0.75}, back.get(0).neg().responseScores());
    }

    @Test void exportHasTheOfficialShape() throws Exception {
        Path file = dir.resolve("scored.json");
        OfficialCeJson.write(file, pairs());
        var root = Jsonl.MAPPER.readTree(Files.readString(file));
        List<String> keys = new java.util.ArrayList<>();
        root.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("prompt", "chosen", "rejected", "prob_result"), keys);
        var pos = root.get("prob_result").get(0).get("pos");
        List<String> sideKeys = new java.util.ArrayList<>();
        pos.fieldNames().forEachRemaining(sideKeys::add);
        assertEquals(List.of("ce_prob", "response_start_idx", "text"), sideKeys);
        assertEquals(2, pos.get("response_start_idx").asInt());
        assertEquals(5, pos.get("ce_prob").size());
    }

    /**
     * The official trainer (train_cdpo.py dpo_loss) reads ce_prob position by position over prompt + response and never
     * reads response_start_idx: response-only scores (ce.prompt_scores: false) would be misread, so export refuses them.
     */
    @Test void exportRefusesResponseOnlyScoresAndWritesNothing() throws Exception {
        ScoredPair full = pairs().get(0);
        ScoredPair responseOnly = new ScoredPair(full.pair(), ScoredSide.ofResponse(full.chosenScores(), full.pos().text()),
                ScoredSide.ofResponse(full.rejectedScores(), full.neg().text()));
        Path file = dir.resolve("scored.json");
        CtlabException e = assertThrows(CtlabException.class, () -> OfficialCeJson.write(file, List.of(pairs().get(1), responseOnly)));
        assertTrue(e.getMessage().startsWith(file + ": pair gsm8k-1/0 has response-only scores (ce.prompt_scores: false)"), e.getMessage());
        assertTrue(e.getMessage().contains("re-score with ce.prompt_scores: true"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertFalse(Files.exists(file), "nothing written");
        // a one-token prompt: the two layouts are the same, and it exports
        ScoredPair one = pairs().get(1);
        OfficialCeJson.write(file, List.of(new ScoredPair(pair("g", "p", "x", "yz", 1, 1, 2),
                ScoredSide.ofResponse(new double[] {0.2}, "x"), ScoredSide.ofResponse(new double[] {0.4, 0.6}, "yz"))));
        assertEquals(0, OfficialCeJson.read(file).get(0).pos().responseStartIdx());
        assertTrue(one.hasPromptScores());
    }

    @Test void ctlabJsonlRecordRoundTrips() throws Exception {
        ScoredPair p = pairs().get(0);
        String line = Jsonl.toLine(p);
        assertTrue(line.contains("\"problem_id\":\"gsm8k-1\"") && line.contains("\"response_start_idx\":2"), line);
        ScoredPair back = Jsonl.MAPPER.readValue(line, ScoredPair.class);
        assertEquals(p.pos(), back.pos());
        assertEquals(p.neg(), back.neg());
        assertTrue(p.pair().sameIds(back.pair()));
        assertArrayEquals(p.pair().chosenIds(), back.pair().chosenIds());
    }

    @Test void scoresThatDoNotCoverTheCarriedIdsAreAnError() throws Exception {
        // scores are joined to ids by position: a record whose scores cover 3 chosen ids while it carries 4 is refused
        ScoredSide pos = pairs().get(0).pos();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ScoredPair(
                pair("g", "p", "c", "r", 3, 4, 2), pos, pairs().get(0).neg()));
        assertTrue(e.getMessage().contains("pos") && e.getMessage().contains("4 response ids"), e.getMessage());
        // read from a file: one line naming file:line
        String line = Jsonl.toLine(pairs().get(0)).replace("\"chosen_ids\":[10,11,12]", "\"chosen_ids\":[10,11,12,13]");
        Path file = dir.resolve("pairs-scored.jsonl");
        Files.writeString(file, Jsonl.toLine(pairs().get(1)) + "\n" + line + "\n");
        String msg = assertThrows(CtlabException.class, () -> Jsonl.read(file, ScoredPair.class)).getMessage();
        assertTrue(msg.startsWith(file + ":2: not a ScoredPair record") && msg.contains("4 response ids")
                && !msg.contains("\n"), msg);
    }

    @Test void scoresArePositionAlignedWithTheCarriedIds() {
        ScoredPair p = pairs().get(0);
        assertEquals(p.pair().chosenIds().length, p.chosenScores().length);
        assertEquals(p.pair().rejectedIds().length, p.rejectedScores().length);
        assertArrayEquals(new double[] {0.0625, 0.75}, p.rejectedScores());
    }

    String readError(String json) throws Exception {
        Path file = dir.resolve("bad.json");
        Files.writeString(file, json);
        String msg = assertThrows(CtlabException.class, () -> OfficialCeJson.read(file)).getMessage();
        assertTrue(msg.startsWith(file.toString()), msg);
        return msg;
    }

    static final String SIDE = "{\"ce_prob\": [0.5, 0.25], \"response_start_idx\": 1, \"text\": \"t\"}";

    @Test void malformedFilesGiveClearErrors() throws Exception {
        assertTrue(readError("{\"prompt\": [").contains("not valid JSON"));
        assertTrue(readError("[1, 2]").contains("expected a JSON object"));
        assertTrue(readError("{\"prompt\": [], \"chosen\": [], \"rejected\": []}").contains("missing key 'prob_result'"));
        assertTrue(readError("{\"prompt\": [\"p\"], \"chosen\": [\"c\"], \"rejected\": [], \"prob_result\": []}")
                .contains("'rejected' has 0 entries but 'prompt' has 1"));
        String ok = "{\"prompt\": [\"p\"], \"chosen\": [\"c\"], \"rejected\": [\"r\"], \"prob_result\": [{\"pos\": " + SIDE
                + ", \"neg\": NEG}]}";
        assertEquals(1, OfficialCeJson.read(write(ok.replace("NEG", SIDE))).size());
        assertTrue(readError(ok.replace("NEG", SIDE.replace("0.25", "1.5"))).contains("prob_result[0].neg.ce_prob[1]"));
        assertTrue(readError(ok.replace("NEG", SIDE.replace("0.25", "\"x\""))).contains("prob_result[0].neg.ce_prob[1]"));
        assertTrue(readError(ok.replace("NEG", SIDE.replace("\"response_start_idx\": 1", "\"response_start_idx\": 7")))
                .contains("prob_result[0].neg.response_start_idx: 7 is outside 0..2"));
        assertTrue(readError(ok.replace("NEG", SIDE.replace("\"response_start_idx\": 1", "\"response_start_idx\": 1.5")))
                .contains("response_start_idx: missing or not an integer"));
        assertTrue(readError(ok.replace("NEG", SIDE.replace(", \"text\": \"t\"", ""))).contains("prob_result[0].neg.text"));
        assertTrue(readError(ok.replace("NEG", "3")).contains("prob_result[0].neg: missing object"));
        assertTrue(readError(ok.replace("[\"c\"]", "[7]").replace("NEG", SIDE)).contains("chosen[0]: expected a string"));
    }

    Path write(String json) throws Exception {
        Path file = dir.resolve("ok.json");
        Files.writeString(file, json);
        return file;
    }
}

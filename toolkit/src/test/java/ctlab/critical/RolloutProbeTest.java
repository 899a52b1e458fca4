package ctlab.critical;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.critical.RolloutProbe.Config;
import ctlab.critical.RolloutProbe.Result;
import ctlab.critical.RolloutProbe.Rule;
import ctlab.critical.RolloutProbe.TokenRow;
import ctlab.critical.RolloutProbe.Trajectory;
import ctlab.io.Jsonl;
import ctlab.model.LlamaModel;
import ctlab.sample.Sampler;
import ctlab.sample.SamplingParams;
import ctlab.sample.TinyModels;
import ctlab.stats.PassAtK;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RolloutProbeTest {

    static List<TokenRow> rows(int k, int... withCorrect) {
        List<TokenRow> out = new ArrayList<>();
        for (int i = 0; i < withCorrect.length; i++) out.add(new TokenRow(i, i, "t", 0.1, withCorrect[i], k, 0, k));
        return out;
    }

    @Test
    void firstDropRuleNeedsAPositiveRateBefore() {
        assertEquals(3, RolloutProbe.firstDrop(rows(4, 0, 0, 3, 0, 2), -1));
        assertEquals(0, RolloutProbe.firstDrop(rows(4, 0, 0, 3, 0), 1));   // the baseline counts as "before"
        assertEquals(-1, RolloutProbe.firstDrop(rows(4, 0, 0, 0), 0));
        assertEquals(-1, RolloutProbe.firstDrop(rows(4, 1, 2, 4), 3));
    }

    @Test
    void officialRuleResetsAfterMoreThanThreeOf64() {
        double f = Config.OFFICIAL_RESET_FRACTION;
        // candidate 1, kept through 2 (2 <= 3 correct), dropped at 3 (10 > 3); new candidate 4 stays open
        assertEquals(4, RolloutProbe.official(rows(64, 5, 0, 2, 10, 0, 1), f));
        // no open candidate at the end: the last dropped one
        assertEquals(1, RolloutProbe.official(rows(64, 5, 0, 2, 10, 7), f));
        // exactly 3 correct does not reset
        assertEquals(1, RolloutProbe.official(rows(64, 5, 0, 3, 3), f));
        assertEquals(0, RolloutProbe.official(rows(64, 0, 4, 9), f));
        assertEquals(-1, RolloutProbe.official(rows(64, 5, 4, 6), f));
        // unlike ours, the official rule accepts a 0 at the very first position
        assertEquals(-1, RolloutProbe.firstDrop(rows(64, 0, 0, 0), -1));
        assertEquals(0, RolloutProbe.official(rows(64, 0, 0, 0), f));
    }

    @Test
    void unbiasedPassAtK() {
        assertEquals(0.5, PassAtK.estimate(4, 1, 2), 1e-12);     // 1 - C(3,2)/C(4,2)
        assertEquals(0.9, PassAtK.estimate(5, 2, 3), 1e-12);     // 1 - C(3,3)/C(5,3)
        assertEquals(0.0, PassAtK.estimate(64, 0, 10), 0);
        assertEquals(1.0, PassAtK.estimate(4, 3, 2), 0);         // fewer than k wrong
        assertEquals(PassAtK.estimate(4, 1, 4), RolloutProbe.passAtK(4, 1, 9), 0);  // k clamped to n (official)
        assertArrayEquals(new double[] {0.25, 0.5, 0.75, 1, 1}, RolloutProbe.passAtKCurve(4, 1, 5), 1e-12);
        assertEquals(0.25, PassAtK.estimate(4, 1, 1), 1e-12);
        // a: critical 1 (with 0 of 4, without 2 of 4); b: official critical 0 (with 0 of 4, without 1 of 4)
        List<TokenRow> a = List.of(new TokenRow(0, 5, "x", 0.1, 2, 4, 0, 4), new TokenRow(1, 6, "y", 0.1, 0, 4, 2, 4));
        List<TokenRow> b = List.of(new TokenRow(0, 5, "x", 0.1, 0, 4, 1, 4), new TokenRow(1, 6, "y", 0.1, 0, 4, 3, 4));
        List<Result> rs = List.of(new Result("a", 2, 4, -1, 1, 1, 0, 0, 0, a), new Result("b", 2, 4, -1, -1, 0, 0, 0, 0, b));
        assertArrayEquals(new double[] {0, 0}, RolloutProbe.meanPassAtK(rs, Rule.FIRST_DROP, true, 2), 0);
        assertArrayEquals(new double[] {0.5, 5.0 / 6}, RolloutProbe.meanPassAtK(rs, Rule.FIRST_DROP, false, 2), 1e-12);
        // OFFICIAL uses both: without pass@1 = (2/4 + 1/4) / 2, pass@2 = (5/6 + 1/2) / 2
        assertArrayEquals(new double[] {0.375, 2.0 / 3}, RolloutProbe.meanPassAtK(rs, Rule.OFFICIAL, false, 2), 1e-12);
        assertEquals(0, RolloutProbe.meanPassAtK(List.of(rs.get(1)), Rule.FIRST_DROP, true, 3).length);
    }

    /**
     * A synthetic task on the tiny model whose ground truth we know: "correct" = the response text does not
     * contain Y, the text of response token c. Every prefix that keeps token c is then wrong for sure (rate 0
     * from c on), prefixes before it are mostly right, and replacing token c restores correctness.
     */
    @Test
    void probeFindsTheTokenThatMakesEveryContinuationWrong() {
        try (LlamaModel model = TinyModels.load("llama")) {
            Sampler sampler = new Sampler(model).maxBatchRows(64);
            var tok = model.tokenizer();
            int[] prompt = tok.encodePrompt("The answer is 72.");
            int[] resp = Sampler.greedy(model, List.of(prompt), 12, -1).get(0);
            int c = -1;
            String y = null;
            for (int i = 4; i < resp.length && c < 0; i++) {
                String piece = tok.decode(new long[] {resp[i]}, true).strip();
                String before = tok.decode(Arrays.stream(Arrays.copyOf(resp, i)).asLongStream().toArray(), true);
                String upTo = tok.decode(Arrays.stream(Arrays.copyOf(resp, i + 1)).asLongStream().toArray(), true);
                if (piece.length() >= 1 && !before.contains(piece) && upTo.contains(piece)) {
                    c = i;
                    y = piece;
                }
            }
            assertTrue(c > 0, "need a distinctive token in " + Arrays.toString(resp));
            String marker = y;
            SamplingParams sp = new SamplingParams(1, 1.0, 1.0, 0, 6, List.of(), 7);
            RolloutProbe probe = new RolloutProbe(sampler, new Config(8, sp, 1, null, true, 3.0 / 64, false),
                    (text, ref) -> !text.contains(marker));
            Trajectory traj = new Trajectory("q1", prompt, resp, "unused");
            Result r = probe.probe(traj);

            assertEquals(resp.length, r.tokens().size());
            for (TokenRow row : r.tokens()) {
                assertEquals(8, row.withTotal());
                assertEquals(resp[row.position()], row.tokenId());
                if (row.position() >= c) assertEquals(0, row.withCorrect(), "prefix keeps '" + marker + "' at " + row.position());
                else assertTrue(row.withCorrect() > 0, "position " + row.position() + " before the marker");
            }
            System.out.printf("marker '%s' at %d; with rates %s; without at c %.2f; %d tokens in %.1fs%n", marker, c,
                    r.tokens().stream().map(t -> String.valueOf(t.withCorrect())).toList(), r.row(c).withoutRate(),
                    r.tokensGenerated(), r.seconds());
            assertTrue(r.baselineCorrect() > 0);
            assertEquals(c, r.critical());
            assertEquals(c, r.criticalOfficial());
            assertTrue(r.row(c).withoutCorrect() > 4, "replacing the marker token should mostly restore correctness");
            assertEquals(0.0, r.passAtKWith()[7], 0);
            assertTrue(r.passAtKWithout()[0] > 0.5 && r.passAtKWithout()[7] == 1.0);
            assertTrue(r.tokensGenerated() > 0 && r.tokensGenerated() <= (2L * resp.length + 1) * 8 * 6);
            assertTrue(r.seconds() > 0);

            // the same positions probed alone give the same counts (seeds derive from ids, not batch layout)
            RolloutProbe two = new RolloutProbe(new Sampler(model).maxBatchRows(5),
                    new Config(8, sp, 1, new int[] {c, c - 1}, false, 3.0 / 64, false), (text, ref) -> !text.contains(marker));
            Result r2 = two.probe(traj);
            assertEquals(2, r2.tokens().size());
            for (TokenRow row : r2.tokens()) assertEquals(r.row(row.position()), row);

            // grading the continuation alone (official): the marker in the kept prefix no longer counts
            Result r3 = new RolloutProbe(sampler, new Config(8, sp, 1, new int[] {c}, false, 3.0 / 64, true),
                    (text, ref) -> !text.contains(marker)).probe(traj);
            assertTrue(r3.row(c).withCorrect() > 0, "continuations after the marker mostly lack it");

            // one JSONL line with the per-token table
            JsonNode json = Jsonl.MAPPER.readTree(Jsonl.toLine(r));
            assertEquals("q1", json.get("trajectory_id").asText());
            assertEquals(c, json.get("critical").asInt());
            assertEquals(resp.length, json.get("tokens").size());
            assertEquals(0.0, json.get("tokens").get(c).get("with_rate").asDouble(), 0);
            assertEquals(8, json.get("pass_at_k_without").size());
            Result back = Jsonl.MAPPER.readValue(Jsonl.toLine(r), Result.class);  // rollout.jsonl reads back
            assertEquals(r.tokens(), back.tokens());
            assertEquals(r.critical(), back.critical());
            assertArrayEquals(r.passAtKWithout(), back.passAtKWithout(), 0);

            assertThrows(CtlabException.class, () -> new RolloutProbe(sampler,
                    new Config(8, sp, 1, new int[] {resp.length}, false, 0.05, false), (t, x) -> true).probe(traj));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void configErrorsNameTheKey() {
        SamplingParams sp = SamplingParams.greedy(4);
        assertTrue(assertThrows(CtlabException.class, () -> new Config(0, sp, 1, null, false, 0.05, false)).getMessage().contains("k must"));
        assertTrue(assertThrows(CtlabException.class, () -> new Config(4, sp, 0, null, false, 0.05, false)).getMessage().contains("stride"));
        assertTrue(assertThrows(CtlabException.class, () -> new Config(4, sp, 1, null, false, 1.0, false)).getMessage().contains("reset_fraction"));
    }
}

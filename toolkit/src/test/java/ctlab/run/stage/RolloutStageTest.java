package ctlab.run.stage;

import ctlab.data.PreferencePair;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.critical.RolloutProbe;
import ctlab.data.ScoredPair;
import ctlab.data.ScoredSide;
import ctlab.io.Jsonl;
import ctlab.model.Tokenizer;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.run.Stage;
import ctlab.run.StageContext;
import ctlab.task.Problem;
import ctlab.task.Prompts;
import ctlab.task.organism.OrganismTask;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The real rollout stage on the CI-sized organism model. Stand-ins write its inputs: pairs whose rejected side is
 * the reference solution with a wrong final answer, and CE scores of the right lengths (a fixed pattern).
 */
class RolloutStageTest {
    @TempDir Path tmp;

    @org.junit.jupiter.api.BeforeAll static void oneThread() { OrganismFixture.oneThread(); }

    @org.junit.jupiter.api.AfterAll static void restoreThreads() { OrganismFixture.restoreThreads(); }

    static final String CFG = "sample: {temperature: 1.0, few_shot: false}\n"
            + "rollout: {trajectories: 2, k: 4, positions: 'first:5', max_new_tokens: 40, batch_size: 16, official_reset_above: 1}\n";

    /** Pairs from the first test problems: chosen = reference solution, rejected = it with the answer plus one. */
    static final class FakeSelect implements Stage {
        public String name() { return "select"; }
        public String description() { return "fake pairs"; }
        public List<String> configKeys() { return List.of(); }
        public List<Input> inputs(RunConfig c) { return List.of(); }
        public List<String> outputs() { return List.of(SelectStage.PAIRS); }

        public void run(StageContext ctx) {
            List<Problem> test = OrganismTask.INSTANCE.load(TaskData.splitFile(ctx.config(), "test"));
            List<PreferencePair> pairs = new ArrayList<>();
            try (Tokenizer tok = Tokenizer.load(Path.of(ctx.config().model()))) {
                for (Problem p : test.subList(0, 3)) {
                    String wrong = Long.toString(Long.parseLong(p.answer()) + 1);
                    String rejected = p.solution().replace("The answer is " + p.answer(), "The answer is " + wrong);
                    pairs.add(pair(tok, p.id(), Prompts.gsm8k(p.question()), p.solution(), rejected, p.answer(), wrong));
                }
            }
            Jsonl.writeAll(ctx.file(SelectStage.PAIRS), pairs);
        }
    }

    /** A hand-made pair (the fake select stage has no samples): its ids encoded here, once. */
    static PreferencePair pair(Tokenizer tok, String id, String prompt, String chosen, String rejected, String answer,
                               String wrong) {
        return new PreferencePair(id + "/0", id, prompt, chosen, rejected, answer, wrong, answer, id + "#0", id + "#1",
                tok.encodePrompt(prompt), tok.encodeResponse(chosen), tok.encodeResponse(rejected));
    }

    /** CE scores with the official layout and a fixed pattern: s = 0.9 except 0.1 at response token 2. */
    static final class FakeScoreCe implements Stage {
        public String name() { return "score-ce"; }
        public String description() { return "fake CE scores"; }
        public List<String> configKeys() { return List.of(); }
        public List<Input> inputs(RunConfig c) { return List.of(Input.fromStage("select", SelectStage.PAIRS)); }
        public List<String> outputs() { return List.of(RolloutStage.SCORED); }

        public void run(StageContext ctx) {
            try (Tokenizer tok = Tokenizer.load(Path.of(ctx.config().model()))) {
                List<ScoredPair> out = new ArrayList<>();
                for (PreferencePair p : Jsonl.read(ctx.input("select", SelectStage.PAIRS), PreferencePair.class)) {
                    out.add(new ScoredPair(p, side(p.promptIds().length, p.chosenIds().length, p.chosen()),
                            side(p.promptIds().length, p.rejectedIds().length, p.rejected())));
                }
                Jsonl.writeAll(ctx.file(RolloutStage.SCORED), out);
            }
        }

        static ScoredSide side(int pLen, int rLen, String response) {
            double[] s = new double[pLen + rLen - 1];
            java.util.Arrays.fill(s, 0.9);
            s[pLen - 1 + 2] = 0.1;
            return ScoredSide.ofSequence(s, pLen, response);
        }
    }

    static Pipeline pipeline() { return new Pipeline(List.of(new FakeSelect(), new FakeScoreCe(), new RolloutStage())); }

    @Test void probesTheRejectedSidesOfScoredPairsAndSummarisesAgreement() throws Exception {
        RunConfig c = OrganismFixture.config(CFG);
        Path dir = tmp.resolve("run");
        pipeline().run(c, dir, Pipeline.Options.defaults());
        Path ro = dir.resolve("03-rollout");
        List<PreferencePair> pairs = Jsonl.read(dir.resolve("01-select/pairs.jsonl"), PreferencePair.class);
        List<JsonNode> lines = Jsonl.read(ro.resolve("rollout.jsonl")).stream().map(Jsonl.Line::json).toList();
        assertEquals(2, lines.size(), "rollout.trajectories = 2");
        try (Tokenizer tok = Tokenizer.load(Path.of(c.model()))) {
            for (int t = 0; t < 2; t++) {
                RolloutProbe.Result r = Jsonl.MAPPER.treeToValue(lines.get(t), RolloutProbe.Result.class);
                assertEquals(pairs.get(t).problemId() + "/0", r.trajectoryId());
                int[] resp = pairs.get(t).rejectedIds();
                assertEquals(resp.length, r.responseLength());
                assertEquals(4, r.k());
                assertTrue(r.baselineCorrect() >= 0 && r.baselineCorrect() <= 4, "baseline probed");
                assertEquals(List.of(0, 1, 2, 3, 4), r.tokens().stream().map(RolloutProbe.TokenRow::position).toList());
                for (RolloutProbe.TokenRow row : r.tokens()) {
                    assertEquals(resp[row.position()], row.tokenId());
                    assertEquals(4, row.withTotal());
                    assertEquals(4, row.withoutTotal());
                    assertTrue(row.prob() > 0 && row.prob() <= 1);
                }
                assertTrue(r.tokensGenerated() > 0);
            }
        }
        JsonNode s = Jsonl.MAPPER.readTree(Files.readString(ro.resolve("summary.json")));
        assertEquals(2, s.get("trajectories").asInt());
        long tokens = lines.stream().mapToLong(l -> l.get("tokens_generated").asLong()).sum();
        assertEquals(tokens, s.get("tokens_generated").asLong());
        for (String rule : List.of("paper", "official")) {
            JsonNode a = s.get("agreement").get(rule);
            assertEquals(2, a.get("critical").get("trajectories").asInt());
            assertEquals(2, a.get("drop").get("trajectories").asInt());
            assertTrue(s.get("pass_at_k").get(rule).has("with"));
        }
        long withCritical = lines.stream().filter(l -> l.get("critical").asInt() >= 0).count();
        assertEquals(withCritical, s.get("with_critical").asLong());
        if (withCritical > 0) {
            // the fake CE minimum sits at response token 2: exact hits are the trajectories critical at 2
            long at2 = lines.stream().filter(l -> l.get("critical").asInt() == 2).count();
            assertEquals((double) at2 / withCritical, s.get("agreement").get("paper").get("critical").get("exact_rate").asDouble(), 1e-12);
        }

        // cut off after the first trajectory: the resumed file has the same records (wall-clock seconds aside)
        Path file = ro.resolve("rollout.jsonl");
        String full = Files.readString(file);
        Files.writeString(file, full.lines().findFirst().orElseThrow() + "\n");
        Files.delete(ro.resolve("DONE"));
        Files.delete(ro.resolve("summary.json"));
        List<Pipeline.Outcome> o = pipeline().run(c, dir, new Pipeline.Options(Set.of("rollout"), Set.of(), null));
        assertEquals(Pipeline.Status.RESUMED, o.get(0).status());
        assertEquals(withoutSeconds(full), withoutSeconds(Files.readString(file)));
    }

    @Test void scoresThatDoNotCoverTheResponseTokensAreAnError() throws Exception {
        RunConfig c = OrganismFixture.config(CFG);
        try (Tokenizer tok = Tokenizer.load(Path.of(c.model()))) {
            String prompt = "Question: Tom has 3 apples.\nAnswer: ", response = "Tom has 3 apples. The answer is 4.";
            PreferencePair pair = pair(tok, "p", prompt, response, response, "4", "4");
            ScoredSide good = FakeScoreCe.side(pair.promptIds().length, pair.rejectedIds().length, response);
            double[] shorter = java.util.Arrays.copyOf(good.ceProb(), good.ceProb().length - 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new ScoredPair(pair, good, new ScoredSide(shorter, good.responseStartIdx(), response)));
            assertTrue(e.getMessage().contains("response ids"), e.getMessage());
            List<RolloutStage.Probed> t = RolloutStage.trajectories(List.of(new ScoredPair(pair, good, good)), 0);
            assertEquals(1, t.size());
            assertEquals("p/0", t.get(0).trajectory().id());
            assertArrayEquals(pair.rejectedIds(), t.get(0).trajectory().responseIds());
        }
    }

    static String withoutSeconds(String jsonl) { return jsonl.replaceAll("\"seconds\":[0-9.Ee+-]+", "\"seconds\":0"); }
}

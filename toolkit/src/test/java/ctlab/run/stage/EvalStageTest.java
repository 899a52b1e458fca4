package ctlab.run.stage;

import ctlab.data.EvalOutcome;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.stats.PassAtK;
import ctlab.task.Grader;
import ctlab.task.Problem;
import ctlab.task.organism.OrganismTask;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The real eval stage on the CI-sized organism model, with stand-in policy adapters. */
class EvalStageTest {
    @TempDir Path tmp;

    @org.junit.jupiter.api.BeforeAll static void oneThread() { OrganismFixture.oneThread(); }

    @org.junit.jupiter.api.AfterAll static void restoreThreads() { OrganismFixture.restoreThreads(); }

    static final String EVAL = "train: {losses: [dpo, cdpo]}\n"
            + "eval: {problems: 10, max_new_tokens: 48, batch_size: 4, pass_k: 2, pass_samples: 3}\n"
            + "sample: {few_shot: false}\n";

    static Pipeline pipeline() { return new Pipeline(List.of(new FakeTrainStage(0.3), new EvalStage())); }

    @Test void evaluatesBaseAndEveryPolicyAndSummarisesWithIntervalsAndPairedTests() throws Exception {
        RunConfig c = OrganismFixture.config(EVAL);
        Path dir = tmp.resolve("run");
        pipeline().run(c, dir, Pipeline.Options.defaults());
        Path ev = dir.resolve("02-eval");
        List<Problem> test = OrganismTask.INSTANCE.load(TaskData.splitFile(c, "test")).subList(0, 10);

        List<EvalOutcome> base = Jsonl.read(ev.resolve("eval-base.jsonl"), EvalOutcome.class);
        List<EvalOutcome> dpo = Jsonl.read(ev.resolve("eval-dpo.jsonl"), EvalOutcome.class);
        List<EvalOutcome> cdpo = Jsonl.read(ev.resolve("eval-cdpo.jsonl"), EvalOutcome.class);
        assertEquals(test.stream().map(Problem::id).toList(), base.stream().map(EvalOutcome::problemId).toList());
        for (int i = 0; i < 10; i++) {
            EvalOutcome o = base.get(i);
            assertEquals("base", o.method());
            assertEquals(test.get(i).answer(), o.reference());
            assertEquals(Grader.grade(OrganismTask.INSTANCE, test.get(i), o.response()).equal(), o.correct());
            assertEquals(3, o.passN());
            // a zero adapter is the base model: the same greedy text
            assertEquals(o.response(), dpo.get(i).response());
            assertEquals(o.correct(), dpo.get(i).correct());
        }
        assertNotEquals(base.stream().map(EvalOutcome::response).toList(), cdpo.stream().map(EvalOutcome::response).toList(),
                "a perturbed adapter changes the answers");

        JsonNode s = Jsonl.MAPPER.readTree(Files.readString(ev.resolve("summary.json")));
        assertEquals(10, s.get("problems").asInt());
        assertEquals(List.of("base", "dpo", "cdpo"), s.get("methods").findValuesAsText("method"));
        JsonNode b = s.get("methods").get(0);
        long correct = base.stream().filter(EvalOutcome::correct).count();
        assertEquals(correct, b.get("correct").asLong());
        assertEquals(correct / 10.0, b.get("accuracy").asDouble(), 1e-12);
        assertTrue(b.get("wilson_lower").asDouble() <= b.get("accuracy").asDouble()
                && b.get("accuracy").asDouble() <= b.get("wilson_upper").asDouble());
        int[] n = base.stream().mapToInt(EvalOutcome::passN).toArray();
        int[] k = base.stream().mapToInt(EvalOutcome::passCorrect).toArray();
        assertEquals(PassAtK.mean(n, k, 2), b.get("pass_at_k").get("2").asDouble(), 1e-12);
        assertTrue(b.get("pass_at_k").get("2").asDouble() >= b.get("pass_at_k").get("1").asDouble());

        JsonNode comps = s.get("comparisons");
        assertEquals(3, comps.size(), "base-dpo, base-cdpo, dpo-cdpo");
        JsonNode baseDpo = comps.get(0);
        assertEquals("base", baseDpo.get("a").asText());
        assertEquals("dpo", baseDpo.get("b").asText());
        assertEquals(0.0, baseDpo.get("difference").asDouble());
        assertEquals(1.0, baseDpo.get("mcnemar_p").asDouble());
        JsonNode dpoCdpo = comps.get(2);
        assertEquals("dpo", dpoCdpo.get("a").asText());
        assertEquals("cdpo", dpoCdpo.get("b").asText());
        long cc = cdpo.stream().filter(EvalOutcome::correct).count();
        assertEquals((cc - correct) / 10.0, dpoCdpo.get("difference").asDouble(), 1e-12);
        assertTrue(dpoCdpo.get("ci_lower").asDouble() <= dpoCdpo.get("difference").asDouble()
                && dpoCdpo.get("difference").asDouble() <= dpoCdpo.get("ci_upper").asDouble());
    }

    @Test void aCutOffEvalResumesToTheSameFiles() throws Exception {
        RunConfig c = OrganismFixture.config(EVAL.replace("pass_k: 2, pass_samples: 3", "pass_k: 0"));
        Path full = tmp.resolve("full"), cut = tmp.resolve("cut");
        pipeline().run(c, full, Pipeline.Options.defaults());
        pipeline().run(c, cut, Pipeline.Options.defaults());
        // cut off during the cdpo policy: 5 of its 10 records written, no summary, no DONE
        Path ev = cut.resolve("02-eval");
        List<String> lines = Files.readAllLines(ev.resolve("eval-cdpo.jsonl"));
        Files.writeString(ev.resolve("eval-cdpo.jsonl"), String.join("\n", lines.subList(0, 5)) + "\n");
        Files.delete(ev.resolve("summary.json"));
        Files.delete(ev.resolve("DONE"));
        List<Pipeline.Outcome> o = pipeline().run(c, cut, new Pipeline.Options(Set.of("eval"), Set.of(), null));
        assertEquals(Pipeline.Status.RESUMED, o.get(0).status());
        for (String f : List.of("eval-base.jsonl", "eval-dpo.jsonl", "eval-cdpo.jsonl", "summary.json")) {
            assertEquals(Files.readString(full.resolve("02-eval").resolve(f)), Files.readString(ev.resolve(f)), f);
        }
    }
}

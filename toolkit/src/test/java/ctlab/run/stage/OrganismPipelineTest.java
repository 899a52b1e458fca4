package ctlab.run.stage;

import ctlab.data.ScoredPair;
import ctlab.data.SftExample;
import ctlab.data.PreferencePair;
import ctlab.data.ProblemSamples;
import ctlab.data.EvalOutcome;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.cli.Main;
import ctlab.io.Jsonl;
import ctlab.run.RunConfig;
import ctlab.run.StageMarker;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code configs/organism-ci.yaml}, the whole pipeline on the shipped organism base model, through the same
 * {@code ctlab demo --config ...} command a user runs, into a temp dir; then the files and sane numbers of every
 * stage. Minutes on two cores: the CI budget for it is 10 minutes.
 */
class OrganismPipelineTest {
    @TempDir Path tmp;

    static Path repo() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("configs"))) p = p.getParent();
        return p;
    }

    @Test void organismCiConfigRunsEveryStageWithSaneNumbers() throws Exception {
        Path repo = repo();
        Assumptions.assumeTrue(repo != null && Files.isRegularFile(repo.resolve("models/organism-base/model.safetensors")),
                "models/organism-base is not in this checkout");
        Path config = repo.resolve("configs/organism-ci.yaml"), run = tmp.resolve("run");
        String model = "model=" + repo.resolve("models/organism-base");
        StringWriter out = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        int code = cl.execute("demo", "--config", config.toString(), "--run-dir", run.toString(), "--set", model);
        assertEquals(0, code, out.toString());
        String printed = out.toString();
        assertTrue(printed.contains("greedy accuracy on 100 test problems"), printed);

        RunConfig c = RunConfig.load(config, List.of(model));
        for (String stage : List.of("01-sample", "02-select", "03-train-pos", "04-train-neg", "05-score-ce", "06-rollout",
                "07-train", "08-eval")) {
            assertTrue(StageMarker.read(run.resolve(stage).resolve(StageMarker.DONE)).isPresent(), stage + " done");
        }
        List<ProblemSamples> samples = Jsonl.read(run.resolve("01-sample/samples.jsonl"), ProblemSamples.class);
        assertEquals(c.sample().problems(), samples.size());
        samples.forEach(ps -> assertEquals(c.sample().n(), ps.samples().size()));

        JsonNode sel = Jsonl.read(run.resolve("02-select/metrics.jsonl")).get(0).json();
        double sampleAccuracy = sel.get("sample_accuracy").asDouble();
        assertTrue(sampleAccuracy > 0.05 && sampleAccuracy < 0.7, "organism-base at T=1 is right sometimes: " + sampleAccuracy);
        List<PreferencePair> pairs = Jsonl.read(run.resolve("02-select/pairs.jsonl"), PreferencePair.class);
        assertTrue(pairs.size() >= 10, "enough problems with both right and wrong answers for DPO pairs: " + pairs.size());
        assertFalse(Jsonl.read(run.resolve("02-select/sft-pos.jsonl"), SftExample.class).isEmpty());
        assertFalse(Jsonl.read(run.resolve("02-select/sft-neg.jsonl"), SftExample.class).isEmpty());

        for (String sft : List.of("03-train-pos", "04-train-neg")) {
            assertTrue(Files.isRegularFile(run.resolve(sft).resolve("adapter_model.safetensors")), sft);
            assertTrue(Files.isRegularFile(run.resolve(sft).resolve("adapter_config.json")), sft);
        }
        assertEquals(pairs.size(), Jsonl.read(run.resolve("05-score-ce/pairs-scored.jsonl"), ScoredPair.class).size(), "every pair scored");

        JsonNode rollout = Jsonl.MAPPER.readTree(Files.readString(run.resolve("06-rollout/summary.json")));
        assertEquals(c.rollout().trajectories(), rollout.get("trajectories").asInt());
        assertTrue(rollout.get("tokens_generated").asLong() > 0);

        for (String loss : c.train().losses()) {
            Path dir = run.resolve("07-train").resolve(loss);
            assertTrue(Files.isRegularFile(dir.resolve("adapter_model.safetensors")), loss);
            List<JsonNode> m = Jsonl.read(dir.resolve("metrics.jsonl")).stream().map(Jsonl.Line::json)
                    .filter(j -> j.has("loss")).toList();
            assertFalse(m.isEmpty(), loss + " metrics");
            for (JsonNode j : m) assertTrue(Double.isFinite(j.get("loss").asDouble()), loss + " loss finite");
        }

        JsonNode eval = Jsonl.MAPPER.readTree(Files.readString(run.resolve("08-eval/summary.json")));
        assertEquals(List.of("base", "dpo", "cdpo"), eval.get("methods").findValuesAsText("method"));
        double base = eval.get("methods").get(0).get("accuracy").asDouble();
        // organism-base: about 40-50% greedy on the 500 test problems (models/organism-base/README.md)
        assertTrue(base > 0.15 && base < 0.6, "base greedy accuracy on 100 test problems: " + base);
        for (JsonNode m : eval.get("methods")) assertEquals(100, m.get("total").asInt());
        assertEquals(3, eval.get("comparisons").size());
        for (String method : List.of("base", "dpo", "cdpo")) {
            assertEquals(100, Jsonl.read(run.resolve("08-eval/eval-" + method + ".jsonl"), EvalOutcome.class).size());
        }
    }
}

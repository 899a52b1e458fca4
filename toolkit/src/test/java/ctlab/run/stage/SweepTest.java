package ctlab.run.stage;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.cli.Main;
import ctlab.io.Jsonl;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.run.StageMarker;
import ctlab.run.Sweep;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 13's detector sweeps: {@code ctlab sweep} redoes only the stages a grid point changes, on copies of a finished
 * run's other stages, and leaves the source run untouched.
 */
class SweepTest {
    @TempDir static Path tmp;
    static Path source;
    static Map<String, String> sourceFiles;

    /** A tiny organism-v2 run through score-ce on trap problems only (as PlantedTruthTest's). */
    @BeforeAll static void sourceRun() throws Exception {
        Path model = Path.of("../models/organism-traps");
        Assumptions.assumeTrue(Files.isRegularFile(model.resolve("model.safetensors")), "models/organism-traps not found");
        OrganismFixture.oneThread();
        var splits = ctlab.task.organism.OrganismTask.INSTANCE.prepareData(model, tmp.resolve("data"), 80, 20, false).orElseThrow();
        Path train = tmp.resolve("trap-train.jsonl");
        List<String> lines = new ArrayList<>();
        for (String l : Files.readAllLines(splits.train()))
            if (Jsonl.MAPPER.readTree(l).hasNonNull("trap") && lines.size() < 10) lines.add(l);
        Files.write(train, lines);
        String yaml = "name: t\nseed: 3\nthreads: 1\ntask: organism\n"
                + "data: {train: " + train + ", test: " + splits.test() + "}\nmodel: " + model + "\n"
                + "sample: {problems: 10, n: 8, temperature: 1.0, top_p: 1.0, max_new_tokens: 160, batch_size: 10, few_shot: false}\n"
                + "sft: {epochs: 1, batch_size: 8, effective_batch: 8, lr: 1.0e-3, warmup_steps: 1, max_length: 256,"
                + " lora: {r: 4, alpha: 8, dropout: 0.0, targets: [gate_proj]}}\n"
                + "ce: {beta: 1.0, batch_size: 32}\n";
        source = tmp.resolve("source");
        Stages.pipeline().run(RunConfig.parse(yaml, "t.yaml", List.of()), source,
                new Pipeline.Options(Set.of("sample", "select", "train-pos", "train-neg", "score-ce"), Set.of(), null));
        sourceFiles = snapshot(source);
    }

    @AfterAll static void threads() { OrganismFixture.restoreThreads(); }

    static RunConfig sourceConfig(String... sets) {
        return RunConfig.load(source.resolve("config.yaml"), List.of(sets));
    }

    @Test void aPointReusesTheLeadingStagesItsKeysDoNotChange() {
        Pipeline p = Stages.pipeline();
        assertEquals(List.of("01-sample", "02-select", "03-train-pos", "04-train-neg", "05-score-ce"),
                Sweep.reusable(p, source, sourceConfig(), "score-ce"));
        assertEquals(List.of("01-sample", "02-select", "03-train-pos", "04-train-neg"),
                Sweep.reusable(p, source, sourceConfig("ce.beta=2"), "score-ce"), "β: re-score with the same SFT models");
        assertEquals(List.of("01-sample", "02-select"),
                Sweep.reusable(p, source, sourceConfig("sft.max_examples=4"), "score-ce"), "SFT size: retrain both");
        assertEquals(List.of(), Sweep.reusable(p, source, sourceConfig("sample.n=4"), "score-ce"));
        assertEquals(List.of("01-sample", "02-select"), Sweep.reusable(p, source, sourceConfig(), "select"), "only up to --until");
    }

    @Test void sweepRecomputesOnlyWhatAPointChangesAndSummarisesCeAgainstThePlantedTokens() throws Exception {
        Path out = tmp.resolve("beta");
        int code = run("sweep", source.toString(), "--grid", "ce.beta=0.5,2", "--run-dir", out.toString());
        assertEquals(0, code);
        assertEquals(sourceFiles, snapshot(source), "the source run is never written");
        Map<Double, double[]> rejected = new TreeMap<>();
        for (String beta : List.of("0.5", "2")) {
            Path d = out.resolve("seed-3/ce.beta=" + beta);
            for (String f : List.of("01-sample/samples.jsonl", "03-train-pos/adapter_model.safetensors"))
                assertArrayEquals(Files.readAllBytes(source.resolve(f)), Files.readAllBytes(d.resolve(f)), f + " is the source's");
            StageMarker pos = StageMarker.read(d.resolve("03-train-pos/DONE")).orElseThrow();
            assertEquals(StageMarker.read(source.resolve("03-train-pos/DONE")).orElseThrow().finished(), pos.finished(), "copied, not rerun");
            StageMarker ce = StageMarker.read(d.resolve("05-score-ce/DONE")).orElseThrow();
            assertEquals(Double.parseDouble(beta), ce.config().path("ce").path("beta").asDouble(), "score-ce ran with the point's β");
            JsonNode first = Jsonl.read(d.resolve("05-score-ce/pairs-scored.jsonl")).get(0).json();
            rejected.put(Double.parseDouble(beta), Jsonl.MAPPER.treeToValue(first.path("neg").path("ce_prob"), double[].class));
        }
        assertFalse(java.util.Arrays.equals(rejected.get(0.5), rejected.get(2.0)), "β changes the scores");
        JsonNode sweep = Jsonl.MAPPER.readTree(Files.readString(out.resolve("sweep.json")));
        assertEquals(2, sweep.get("points").size());
        for (JsonNode r : sweep.get("points")) {
            Path d = out.resolve(r.get("dir").asText());
            JsonNode metrics = null;
            for (Jsonl.Line l : Jsonl.read(d.resolve("05-score-ce/metrics.jsonl"))) metrics = l.json();
            assertEquals(metrics.get("planted"), r.get("ce_planted"), "the point's own score-ce summary");
            assertEquals(Files.readAllLines(d.resolve("02-select/sft-neg.jsonl")).size(), r.get("sft_neg_examples").asInt());
        }
        String md = Files.readString(out.resolve("sweep.md"));
        assertTrue(md.contains("| ce.beta |") && md.contains("| 0.5 |") && md.contains("| 2 |"), md);

        // an SFT-size point retrains the SFT models on the first N examples and reports N
        Path sft = tmp.resolve("sft");
        assertEquals(0, run("sweep", source.toString(), "--grid", "sft.max_examples=3", "--run-dir", sft.toString()));
        JsonNode point = Jsonl.MAPPER.readTree(Files.readString(sft.resolve("sweep.json"))).get("points").get(0);
        assertEquals(3, point.get("sft_pos_examples").asInt());
        assertEquals(3, point.get("sft_neg_examples").asInt());
        assertEquals(List.of("01-sample", "02-select"), Jsonl.MAPPER.treeToValue(point.get("reused"), List.class));
        assertEquals(sourceFiles, snapshot(source));
    }

    @Test void badInputIsOneLineAndWritesNothing() throws Exception {
        Path out = tmp.resolve("bad");
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, "sweep", source.toString(), "--grid", "ce.beta=0", "--run-dir", out.toString()));
        assertEquals("error: sweep point seed-3/ce.beta=0: --set ce.beta=0: ce.beta: must be > 0, got 0", err.toString().trim());
        assertEquals(2, run(err = new StringWriter(), "sweep", source.toString(), "--grid", "ce.beta=1", "--until", "score",
                "--run-dir", out.toString()));
        assertTrue(err.toString().trim().startsWith("error: unknown stage 'score' (stages: sample, select"), err.toString());
        assertEquals(2, run(err = new StringWriter(), "sweep", tmp.resolve("nowhere").toString(), "--grid", "ce.beta=1",
                "--run-dir", out.toString()));
        assertEquals("error: " + tmp.resolve("nowhere") + ": no config.yaml; SOURCE_RUN must be a run directory", err.toString().trim());
        assertFalse(Files.exists(out), "nothing written");
    }

    static int run(String... args) { return run(new StringWriter(), args); }

    static int run(StringWriter err, String... args) {
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(new StringWriter()));
        cl.setErr(new PrintWriter(err));
        return cl.execute(args);
    }

    static Map<String, String> snapshot(Path dir) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> w = Files.walk(dir)) {
            for (Path p : w.filter(Files::isRegularFile).toList()) {
                if (p.getFileName().toString().equals(".lock")) continue;
                out.put(dir.relativize(p).toString(), ctlab.run.Hashes.of(p));
            }
        }
        return out;
    }
}

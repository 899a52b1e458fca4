package ctlab.run.stage;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.critical.PlantedAgreement;
import ctlab.critical.RolloutProbe;
import ctlab.data.EvalOutcome;
import ctlab.data.Planted;
import ctlab.data.PreferencePair;
import ctlab.data.ProblemSamples;
import ctlab.data.ScoredPair;
import ctlab.data.ScoredSide;
import ctlab.io.Jsonl;
import ctlab.model.LlamaModel;
import ctlab.model.Tokenizer;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.sample.Sampler;
import ctlab.sample.SamplingParams;
import ctlab.task.Problem;
import ctlab.task.Task;
import ctlab.task.organism.OrganismTask;
import ctlab.task.organism.Trap;
import ctlab.task.organism.TrapEval;
import ctlab.task.organism.TrapTruth;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 13: organism v2's planted ground truth goes through the run files (samples' {@code planted}, pairs'
 * {@code rejected_planted}, eval records' {@code trap}), located on the carried ids, absent for tasks without traps;
 * score-ce and rollout report the detectors against it.
 */
class PlantedTruthTest {
    @TempDir static Path tmp;
    static Path model;
    static List<Problem> test;

    @BeforeAll static void data() {
        model = Path.of("../models/organism-traps");
        Assumptions.assumeTrue(Files.isRegularFile(model.resolve("model.safetensors")), "models/organism-traps not found");
        OrganismFixture.oneThread();
        var splits = OrganismTask.INSTANCE.prepareData(model, tmp.resolve("data"), 80, 40, false).orElseThrow();
        test = OrganismTask.INSTANCE.load(splits.test());
    }

    @AfterAll static void threads() { OrganismFixture.restoreThreads(); }

    static int opId(Tokenizer tok, String op) {
        for (String s : List.of(op, op + " ")) {
            int[] ids = tok.encodeResponse(s);
            if (ids.length == 1 && tok.decode(new long[] {ids[0]}, true).trim().equals(op)) return ids[0];
        }
        throw new AssertionError("no token for " + op);
    }

    @Test void annotateLocatesTheTrapOnConstructedResponseIds() {
        Tokenizer tok = Tokenizer.load(model);
        Problem p = test.stream().filter(x -> TrapEval.trapOf(x) != null).findFirst().orElseThrow();
        Trap trap = TrapEval.trapOf(p);
        int[] right = tok.encodeResponse(p.solution());
        assertEquals(new Planted(trap.family(), trap.position(), Planted.CORRECT), OrganismTask.INSTANCE.annotate(p, tok, right));
        int[] wrong = right.clone();
        wrong[trap.position()] = opId(tok, trap.trapOp());
        Planted fell = OrganismTask.INSTANCE.annotate(p, tok, wrong);
        assertEquals(new Planted(trap.family(), trap.position(), Planted.TRAP), fell);
        assertTrue(fell.fellIn());
        int[] cut = java.util.Arrays.copyOf(right, trap.position());                 // stops before the operator
        assertEquals(new Planted(trap.family(), -1, Planted.OTHER), OrganismTask.INSTANCE.annotate(p, tok, cut));
        // no trap, no ground truth: a clean organism problem and the fixed-data tasks
        Problem clean = test.stream().filter(x -> TrapEval.trapOf(x) == null).findFirst().orElseThrow();
        assertNull(OrganismTask.INSTANCE.annotate(clean, tok, right));
        assertNull(OrganismTask.INSTANCE.trapFamily(clean));
        assertEquals(trap.family(), OrganismTask.INSTANCE.trapFamily(p));
        assertNull(Task.GSM8K.annotate(p, tok, right));
        assertNull(Task.MATH.trapFamily(p));
    }

    @Test void fieldsAreAbsentWithoutGroundTruth() throws Exception {
        var s = new ProblemSamples.Sample("q#0", 0, "x", Sampler.FinishReason.LENGTH, 1, 0, new int[] {5}, new int[] {5});
        assertFalse(Jsonl.MAPPER.readTree(Jsonl.toLine(s)).has("planted"));
        JsonNode with = Jsonl.MAPPER.readTree(Jsonl.toLine(s.withPlanted(new Planted("lend", 0, Planted.TRAP))));
        assertEquals("lend", with.path("planted").path("family").asText());
        var pair = new PreferencePair("q/0", "q", "p", "a", "b", "1", "2", "1", "q#0", "q#1", new int[] {1}, new int[] {2}, new int[] {3});
        assertFalse(Jsonl.MAPPER.readTree(Jsonl.toLine(pair)).has("rejected_planted"));
        var e = new EvalOutcome("q", "base", true, "1", "1", "r", 1, "stop", 0, 0);
        assertFalse(Jsonl.MAPPER.readTree(Jsonl.toLine(e)).has("trap"));
        assertNull(PlantedAgreement.ofRejected(List.of(scored(pair, new double[] {0.5}))), "no ground truth: no summary");
    }

    static ScoredPair scored(PreferencePair p, double[] rejectedScores) {
        double[] pos = new double[p.promptIds().length - 1 + p.chosenIds().length];
        java.util.Arrays.fill(pos, 0.5);
        double[] neg = new double[p.promptIds().length - 1 + rejectedScores.length];
        java.util.Arrays.fill(neg, 0.5);
        System.arraycopy(rejectedScores, 0, neg, p.promptIds().length - 1, rejectedScores.length);
        return new ScoredPair(p, ScoredSide.ofSequence(pos, p.promptIds().length, p.chosen()),
                ScoredSide.ofSequence(neg, p.promptIds().length, p.rejected()));
    }

    static PreferencePair pair(int i, int len, Planted planted) {
        int[] ids = new int[len];
        return new PreferencePair("q" + i + "/0", "q" + i, "p", "a", "b", "1", "2", "1", "q" + i + "#0", "q" + i + "#1",
                new int[] {1, 2}, new int[] {3}, ids, planted);
    }

    @Test void scoreCeAndRolloutSummariesCountOnlyTrajectoriesThatTookTheTrap() {
        List<ScoredPair> sp = List.of(
                scored(pair(0, 4, new Planted("lend", 2, Planted.TRAP)), new double[] {0.9, 0.8, 0.1, 0.7}),   // found
                scored(pair(1, 4, new Planted("lend", 1, Planted.TRAP)), new double[] {0.9, 0.8, 0.1, 0.7}),   // off by one
                scored(pair(2, 4, new Planted("donate", 1, Planted.CORRECT)), new double[] {0.0, 0.0, 0.0, 0.0}),
                scored(pair(3, 4, new Planted("donate", -1, Planted.OTHER)), new double[] {0.0, 0.0, 0.0, 0.0}),
                scored(pair(4, 4, null), new double[] {0.0, 0.0, 0.0, 0.0}));
        PlantedAgreement.Summary s = PlantedAgreement.ofRejected(sp);
        assertEquals(PlantedAgreement.of(List.of(sp.get(0).rejectedScores(), sp.get(1).rejectedScores()), new int[] {2, 1}), s);
        assertEquals(2, s.trajectories());
        assertEquals(0.5, s.precisionAt1());
        assertEquals(1.0, s.withinOne());

        List<RolloutProbe.Result> results = List.of(
                new RolloutProbe.Result("q0/0", 4, 8, 0, 2, -1, 10, 0, 1, List.of()),
                new RolloutProbe.Result("q1/0", 4, 8, 0, 2, 2, 10, 0, 1, List.of()),
                new RolloutProbe.Result("q2/0", 4, 8, 0, 1, 1, 10, 0, 1, List.of()));
        JsonNode r = RolloutStage.planted(results, sp);
        assertEquals(2, r.path("trajectories").asInt(), "only the probed pairs whose rejected side took the trap");
        assertEquals(2, r.path("paper").path("with_critical").asInt());
        assertEquals(0.5, r.path("paper").path("exact_rate").asDouble());
        assertEquals(1.0, r.path("paper").path("within_one_rate").asDouble());
        assertEquals(1, r.path("official").path("with_critical").asInt());
        assertEquals(0.0, r.path("official").path("exact_rate").asDouble());
        assertEquals(0.5, r.path("official").path("within_one_rate").asDouble());
        assertNull(RolloutStage.planted(results.subList(0, 1), List.of(sp.get(4))));
    }

    /** The real stages on the traps model: sample -> select -> train-pos/neg -> score-ce, then eval's records. */
    @Test void tinyTrapsRunCarriesGroundTruthAndScoreCeReportsPlantedAgreement() throws Exception {
        // only trap problems, so most problems have pairs whose rejected side took the trap
        Path train = tmp.resolve("trap-train.jsonl");
        List<String> lines = new ArrayList<>();
        for (String l : Files.readAllLines(tmp.resolve("data/train.jsonl")))
            if (Jsonl.MAPPER.readTree(l).hasNonNull("trap") && lines.size() < 12) lines.add(l);
        Files.write(train, lines);
        String yaml = "name: t\nseed: 3\nthreads: 1\ntask: organism\n"
                + "data: {train: " + train + ", test: " + tmp.resolve("data/test.jsonl") + "}\nmodel: " + model + "\n"
                + "sample: {problems: 12, n: 8, temperature: 1.0, top_p: 1.0, max_new_tokens: 160, batch_size: 12, few_shot: false}\n"
                + "sft: {epochs: 1, batch_size: 8, effective_batch: 8, lr: 1.0e-3, warmup_steps: 1, max_length: 256,"
                + " lora: {r: 4, alpha: 8, dropout: 0.0, targets: [gate_proj]}}\n"
                + "ce: {beta: 1.0, batch_size: 32}\n";
        RunConfig c = RunConfig.parse(yaml, "test.yaml", List.of());
        Path run = tmp.resolve("run");
        Stages.pipeline().run(c, run, new Pipeline.Options(Set.of("sample", "select", "train-pos", "train-neg", "score-ce"),
                Set.of(), null));

        Tokenizer tok = Tokenizer.load(model);
        Map<String, Problem> problems = new HashMap<>();
        for (Problem p : OrganismTask.INSTANCE.load(train)) problems.put(p.id(), p);
        Map<String, Planted> bySample = new HashMap<>();
        int trapBranch = 0;
        for (ProblemSamples ps : Jsonl.read(run.resolve("01-sample/samples.jsonl"), ProblemSamples.class)) {
            Trap trap = TrapEval.trapOf(problems.get(ps.problemId()));
            for (ProblemSamples.Sample s : ps.samples()) {
                Planted p = s.planted();
                assertNotNull(p, s.sampleId());
                TrapTruth.Hit hit = TrapTruth.locate(tok, trap, s.responseIds());       // on the carried ids
                assertEquals(new Planted(trap.family(), hit.position(), hit.branch().name().toLowerCase()), p);
                if (p.fellIn()) {
                    trapBranch++;
                    assertEquals(trap.trapOp(), tok.decode(new long[] {s.responseIds()[p.position()]}, true).trim(), s.sampleId());
                }
                bySample.put(s.sampleId(), p);
            }
        }
        assertTrue(trapBranch > 0, "at T = 1 some samples take the trap operator");

        List<PreferencePair> pairs = Jsonl.read(run.resolve("02-select/pairs.jsonl"), PreferencePair.class);
        assertFalse(pairs.isEmpty());
        for (PreferencePair p : pairs) assertEquals(bySample.get(p.rejectedSampleId()), p.rejectedPlanted(), p.pairId());

        List<ScoredPair> scored = Jsonl.read(run.resolve("05-score-ce/pairs-scored.jsonl"), ScoredPair.class);
        List<double[]> rows = new ArrayList<>();
        List<Integer> at = new ArrayList<>();
        for (ScoredPair s : scored) {
            assertEquals(bySample.get(s.pair().rejectedSampleId()), s.pair().rejectedPlanted(), "scored pairs carry it");
            if (s.pair().rejectedPlanted().fellIn()) {
                rows.add(s.rejectedScores());
                at.add(s.pair().rejectedPlanted().position());
            }
        }
        assertFalse(rows.isEmpty(), "some rejected responses fell into the trap");
        List<Jsonl.Line> metrics = Jsonl.read(run.resolve("05-score-ce/metrics.jsonl"));
        JsonNode planted = metrics.get(metrics.size() - 1).json().path("planted");
        PlantedAgreement.Summary expected = PlantedAgreement.of(rows, at.stream().mapToInt(Integer::intValue).toArray());
        assertEquals(expected.trajectories(), planted.path("trajectories").asInt());
        assertEquals(expected.pooledAuroc(), planted.path("pooled_auroc").asDouble(), 1e-12);
        assertEquals(expected.precisionAt1(), planted.path("precision_at_1").asDouble(), 1e-12);
        assertEquals(expected.withinOne(), planted.path("within_one").asDouble(), 1e-12);
        assertTrue(Files.readString(run.resolve("05-score-ce/log.txt")).contains("CE vs planted trap tokens"));
        String table = Demo.resultsTable(run, c);
        assertTrue(table.contains("planted traps: " + expected.trajectories() + " rejected responses took the trap"), table);
        // the CE heat map of a rejected response that fell in marks its planted token
        var tables = new ctlab.analysis.RunTables(ctlab.analysis.RunData.load(run), null);   // no token texts needed
        for (int i = 0; i < scored.size(); i++) {
            Planted pl = scored.get(i).pair().rejectedPlanted();
            var map = ctlab.viz.Figures.ceHeatMap(tables, ctlab.analysis.RunTables.pairTrajectoryId(scored.get(i), i, "rejected"));
            var marks = map.markings().stream().filter(m -> m.label().equals(ctlab.viz.Figures.PLANTED)).toList();
            if (pl.fellIn()) assertEquals(java.util.Set.of(pl.position()), marks.get(0).positions(), scored.get(i).pairId());
            else assertTrue(marks.isEmpty(), scored.get(i).pairId());
        }
        Path html = ctlab.viz.RunReport.write(run, tmp.resolve("report.html"), new ctlab.viz.RunReport.Options(60, 0, null));
        assertTrue(Files.readString(html).contains("the decisive token of the " + expected.trajectories()
                + " rejected responses that took the trap operator"), "the report shows CE vs the planted traps");

        // eval records name the problem's trap family (ablate --split-by trap), and only where there is one
        List<Problem> few = test.subList(0, 10);
        assertTrue(few.stream().anyMatch(p -> TrapEval.trapOf(p) != null) && few.stream().anyMatch(p -> TrapEval.trapOf(p) == null));
        try (LlamaModel m = LlamaModel.load(model, ai.djl.Device.cpu())) {
            List<EvalOutcome> out = EvalStage.evaluate(new Sampler(m), OrganismTask.INSTANCE, "base", few, false,
                    SamplingParams.greedy(160), null);
            for (int i = 0; i < few.size(); i++) {
                Trap trap = TrapEval.trapOf(few.get(i));
                assertEquals(trap == null ? null : trap.family(), out.get(i).trap());
                assertEquals(trap != null, Jsonl.MAPPER.readTree(Jsonl.toLine(out.get(i))).has("trap"));
            }
        }
    }
}

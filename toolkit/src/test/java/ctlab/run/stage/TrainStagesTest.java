package ctlab.run.stage;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.critical.CeScoring;
import ctlab.critical.OfficialCeJson;
import ctlab.data.ScoredPair;
import ctlab.io.Jsonl;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.train.PreferenceTraining;
import ctlab.data.PromptResponse;
import ctlab.train.ReferenceLogps;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The real train-pos, train-neg, score-ce and train stages on the golden Llama model (fixed select data): every
 * loss trains and moves, the step-0 check holds through the stage, CE scores equal a direct computation with the two
 * adapters, and a mismatched reference cache is an error.
 */
class TrainStagesTest {
    static final List<String> ALL = List.of("sft", "dpo", "rpo", "tokendpo", "cdpo", "cdpo-official");
    static final double LN2 = Math.log(2);
    static int savedThreads;
    @TempDir static Path tmp;
    static Path run;

    @BeforeAll static void runPipeline() {
        ai.djl.engine.Engine.getInstance();                 // loads the native library before JniUtils
        savedThreads = JniUtils.getNumThreads();
        JniUtils.setNumThreads(1);
        run = tmp.resolve("run");
        RunConfig c = RunConfig.parse(TrainPipeline.config(TrainPipeline.goldenModel("llama").toString(), ""),
                "test.yaml", List.of("train.losses=[sft, dpo, rpo, tokendpo, cdpo, cdpo-official]"));
        new Pipeline(new TrainPipeline().get()).run(c, run, Pipeline.Options.defaults());
    }

    @AfterAll static void restoreThreads() { JniUtils.setNumThreads(savedThreads); }

    static List<JsonNode> metrics(Path file) {
        return Jsonl.read(file).stream().map(Jsonl.Line::json).toList();
    }

    @Test void sftStagesWriteAdaptersAndLossFalls() {
        for (String stage : List.of("03-train-pos", "04-train-neg")) {
            Path dir = run.resolve(stage);
            assertTrue(Files.isRegularFile(dir.resolve("adapter_config.json")), stage);
            assertTrue(Files.isRegularFile(dir.resolve("adapter_model.safetensors")), stage);
            assertTrue(Files.isRegularFile(dir.resolve("DONE")), stage);
            List<JsonNode> m = metrics(dir.resolve("metrics.jsonl"));
            assertEquals(12, m.size(), "12 examples / batch 2 x 2 epochs = 12 steps");
            double first = m.get(0).get("loss").asDouble(), last = m.get(m.size() - 1).get("loss").asDouble();
            m.forEach(r -> assertTrue(Double.isFinite(r.get("loss").asDouble())));
            assertTrue(last < first - 0.1, stage + ": SFT loss falls " + first + " -> " + last);
            assertTrue(m.get(0).has("nll") && m.get(0).has("grad_norm") && m.get(0).has("lr"));
        }
    }

    @Test void sftMaxExamplesTrainsOnAPrefixOfTheFile() throws Exception {
        Path copy = tmp.resolve("run-max-examples");
        copyTree(run, copy);
        RunConfig c = RunConfig.parse(TrainPipeline.config(TrainPipeline.goldenModel("llama").toString(), ""),
                "test.yaml", List.of("train.losses=[sft, dpo, rpo, tokendpo, cdpo, cdpo-official]", "sft.max_examples=4"));
        new Pipeline(new TrainPipeline().get()).run(c, copy, new Pipeline.Options(Set.of("train-pos"), Set.of("train-pos"), null));
        List<JsonNode> m = metrics(copy.resolve("03-train-pos/metrics.jsonl"));
        assertEquals(4, m.size(), "4 examples / batch 2 x 2 epochs = 4 steps (12 with all 12 examples)");
        assertTrue(Files.readString(copy.resolve("03-train-pos/log.txt")).contains("4 examples from sft-pos.jsonl"));
        var bad = assertThrows(CtlabException.class, () -> RunConfig.parse(TrainPipeline.config("m", ""), "t",
                List.of("sft.max_examples=-1")));
        assertTrue(bad.getMessage().contains("max_examples"), bad.getMessage());
    }

    /**
     * train.activation_checkpointing=true reaches the SFT and the preference stages (train-pos and train re-run on a
     * copy): the same adapters as the ordinary backward to float rounding, after every step of the stage.
     */
    @Test void activationCheckpointingTrainsTheSameAdaptersThroughTheStages() throws Exception {
        Path copy = tmp.resolve("run-checkpointing");
        copyTree(run, copy);
        RunConfig c = RunConfig.parse(TrainPipeline.config(TrainPipeline.goldenModel("llama").toString(), ""),
                "test.yaml", List.of("train.losses=[cdpo]", "train.activation_checkpointing=true"));
        Set<String> stages = Set.of("train-pos", "train");
        new Pipeline(new TrainPipeline().get()).run(c, copy, new Pipeline.Options(stages, stages, null));
        for (String dir : List.of("03-train-pos", "07-train/cdpo")) {
            String stageDir = dir.split("/")[0];
            assertTrue(Files.readString(copy.resolve(stageDir).resolve("log.txt")).contains("activation checkpointing"), dir);
            try (LlamaModel model = LlamaModel.load(TrainPipeline.goldenModel("llama"), Device.cpu());
                 Lora plain = Lora.load(model, run.resolve(dir)); Lora ckpt = Lora.load(model, copy.resolve(dir))) {
                var a = plain.parameters();
                var b = ckpt.parameters();
                assertEquals(a.size(), b.size());
                for (int i = 0; i < a.size(); i++) {
                    float[] x = a.get(i).array().toFloatArray(), y = b.get(i).array().toFloatArray();
                    double max = 0;
                    for (int j = 0; j < x.length; j++) max = Math.max(max, Math.abs(x[j] - y[j]));
                    assertTrue(max <= 1e-6, dir + " " + a.get(i).name() + ": max |diff| " + max);
                }
            }
        }
    }

    @Test void everyLossTrainsMovesAndPassesTheStepZeroCheck() throws Exception {
        JsonNode policies = Jsonl.MAPPER.readTree(Files.readString(run.resolve("07-train/policies.json")));
        for (String loss : ALL) {
            Path dir = run.resolve("07-train").resolve(loss);
            assertTrue(Files.isRegularFile(dir.resolve("adapter_model.safetensors")), loss);
            assertTrue(policies.has(loss), loss);
            List<JsonNode> m = metrics(dir.resolve("metrics.jsonl"));
            assertEquals(12, m.size(), loss);
            for (JsonNode r : m) assertTrue(Double.isFinite(r.get("loss").asDouble()), loss + " finite: " + r);
            double first = m.get(0).get("loss").asDouble(), last = m.get(m.size() - 1).get("loss").asDouble();
            assertTrue(Math.abs(last - first) > 1e-3, loss + " moves: " + first + " -> " + last);
            if (loss.equals("sft")) continue;
            JsonNode step0 = m.get(0);          // step 1's loss is computed before the first update: policy = reference
            for (String k : List.of("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
                    "logps/chosen", "logps/rejected"))
                assertTrue(step0.has(k), loss + " logs TRL metric " + k);
            assertEquals(0, step0.get("rewards/chosen").asDouble(), 1e-6, loss);
            assertEquals(0, step0.get("rewards/rejected").asDouble(), 1e-6, loss);
            if (loss.equals("rpo")) assertEquals(LN2, step0.get("dpo").asDouble(), 1e-6, "rpo's DPO term at step 0");
            else assertEquals(LN2, step0.get("loss").asDouble(), 1e-6, loss + " = ln 2 at step 0");
            if (!loss.equals("sft")) assertTrue(m.get(m.size() - 1).get("rewards/margins").asDouble() != 0, loss);
        }
        // same data and seeds: the policies start identical, so their step-0 log-probs agree across losses
        double dpoLogp = metrics(run.resolve("07-train/dpo/metrics.jsonl")).get(0).get("logps/chosen").asDouble();
        double cdpoLogp = metrics(run.resolve("07-train/cdpo/metrics.jsonl")).get(0).get("logps/chosen").asDouble();
        assertEquals(dpoLogp, cdpoLogp, 1e-9);
    }

    @Test void ceScoresEqualADirectComputationWithTheTwoAdapters() {
        List<ScoredPair> scored = Jsonl.read(run.resolve("05-score-ce/pairs-scored.jsonl"), ScoredPair.class);
        assertEquals(TrainPipeline.PROBLEMS, scored.size());
        List<OfficialCeJson.Entry> official = OfficialCeJson.read(run.resolve("05-score-ce/pairs-scored.official.json"));
        assertEquals(scored.size(), official.size());
        for (int i = 0; i < scored.size(); i++) {
            assertEquals(scored.get(i).pos(), official.get(i).pos());
            assertEquals(scored.get(i).neg(), official.get(i).neg());
        }
        try (LlamaModel model = LlamaModel.load(TrainPipeline.goldenModel("llama"), Device.cpu());
             Lora pos = Lora.load(model, run.resolve("03-train-pos"));
             Lora neg = Lora.load(model, run.resolve("04-train-neg"))) {
            double minS = 1, maxS = 0;
            for (int i = 0; i < 3; i++) {
                ScoredPair p = scored.get(i);
                for (boolean chosen : new boolean[] {true, false}) {
                    PromptResponse pr = chosen ? p.pair().chosenSequence() : p.pair().rejectedSequence();
                    int[] ids = pr.ids();
                    double[] direct = direct(model, pos, neg, ids);
                    double[] stored = (chosen ? p.pos() : p.neg()).ceProb();
                    assertEquals(pr.prompt().length - 1, (chosen ? p.pos() : p.neg()).responseStartIdx());
                    assertEquals(ids.length - 1, stored.length);
                    double[] loop = CeScoring.scoreOfficialLoop(model, pos, neg, ids, 1.0);
                    for (int j = 0; j < stored.length; j++) {
                        assertEquals(direct[j], stored[j], 1e-5, "pair " + i + " token " + (j + 1));
                        assertEquals(direct[j], loop[j], 1e-5, "official loop, pair " + i + " token " + (j + 1));
                        minS = Math.min(minS, stored[j]);
                        maxS = Math.max(maxS, stored[j]);
                    }
                }
            }
            assertTrue(maxS - minS > 0.1, "scores vary over tokens: " + minS + ".." + maxS);
        }
    }

    /**
     * {@code ce.prompt_scores: false}: score-ce stores the same response scores in the response-only layout, writes no
     * official export, records the key in its config (the default run's has none), and cDPO trains the same from it.
     */
    @Test void responseOnlyScoreCeStoresTheSameResponseScoresAndCdpoTrainsTheSame() throws Exception {
        Path copy = tmp.resolve("run-response-only");
        copyTree(run, copy);
        RunConfig c = RunConfig.parse(TrainPipeline.config(TrainPipeline.goldenModel("llama").toString(), ""),
                "test.yaml", List.of("train.losses=[cdpo]", "ce.prompt_scores=false"));
        new Pipeline(new TrainPipeline().get()).run(c, copy,
                new Pipeline.Options(Set.of("score-ce", "train"), Set.of("score-ce", "train"), null));
        List<ScoredPair> full = Jsonl.read(run.resolve("05-score-ce/pairs-scored.jsonl"), ScoredPair.class);
        List<ScoredPair> resp = Jsonl.read(copy.resolve("05-score-ce/pairs-scored.jsonl"), ScoredPair.class);
        assertEquals(full.size(), resp.size());
        for (int i = 0; i < full.size(); i++) {
            ScoredPair f = full.get(i), r = resp.get(i);
            assertTrue(f.hasPromptScores());
            assertFalse(r.hasPromptScores(), "pair " + i);
            assertEquals(0, r.pos().responseStartIdx());
            assertEquals(r.pair().chosenIds().length, r.pos().ceProb().length);
            assertEquals(r.pair().rejectedIds().length, r.neg().ceProb().length);
            assertArrayEquals(f.chosenScores(), r.chosenScores(), 1e-6, "pair " + i);
            assertArrayEquals(f.rejectedScores(), r.rejectedScores(), 1e-6, "pair " + i);
        }
        assertFalse(Files.exists(copy.resolve("05-score-ce/pairs-scored.official.json")));
        assertTrue(Files.readString(copy.resolve("05-score-ce/DONE")).contains("\"prompt_scores\""));
        assertFalse(Files.readString(run.resolve("05-score-ce/DONE")).contains("prompt_scores"));
        List<JsonNode> a = metrics(run.resolve("07-train/cdpo/metrics.jsonl")), b = metrics(copy.resolve("07-train/cdpo/metrics.jsonl"));
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++)
            assertEquals(a.get(i).get("loss").asDouble(), b.get(i).get("loss").asDouble(), 1e-5, "cdpo step " + (i + 1));
        // the finished stage is skipped on a re-run (its outputs under this config exist, no official export asked for)
        var again = new Pipeline(new TrainPipeline().get()).run(c, copy, new Pipeline.Options(Set.of("score-ce"), Set.of(), null));
        assertEquals(Pipeline.Status.SKIPPED, again.get(0).status());
    }

    /** s_t = softmax(2 z⁺ − z⁻)[y] in double precision from each adapter's own forward pass. */
    static double[] direct(LlamaModel model, Lora pos, Lora neg, int[] ids) {
        float[] zp = logits(model, pos, ids), zn = logits(model, neg, ids);
        int v = model.config().vocabSize();
        double[] out = new double[ids.length - 1];
        for (int j = 0; j < ids.length - 1; j++) {
            double max = Double.NEGATIVE_INFINITY;
            double[] c = new double[v];
            for (int k = 0; k < v; k++) { c[k] = 2.0 * zp[j * v + k] - zn[j * v + k]; max = Math.max(max, c[k]); }
            double sum = 0;
            for (int k = 0; k < v; k++) sum += Math.exp(c[k] - max);
            out[j] = Math.exp(c[ids[j + 1]] - max) / sum;
        }
        return out;
    }

    static float[] logits(LlamaModel model, Lora adapter, int[] ids) {
        adapter.activate();
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            long[] l = new long[ids.length];
            for (int i = 0; i < ids.length; i++) l[i] = ids[i];
            NDArray x = m.create(l, new Shape(1, ids.length));
            return model.logits(x, m.ones(new Shape(1, ids.length))).toFloatArray();
        }
    }

    @Test void referenceCacheMissingOrMismatchedIsAnError() throws Exception {
        Path cache = run.resolve("07-train/reference-logps.json");
        assertTrue(Files.isRegularFile(cache));
        try (LlamaModel model = LlamaModel.load(TrainPipeline.goldenModel("llama"), Device.cpu())) {
            List<PreferenceTraining.EncodedPair> pairs = PreferenceTraining.encode(model.tokenizer(),
                    Jsonl.read(run.resolve("05-score-ce/pairs-scored.jsonl"), ScoredPair.class), 48, 96, "pairs");
            String key = Jsonl.MAPPER.readTree(Files.readString(cache)).get("key").asText();
            assertEquals(key, ReferenceLogps.key(ctlab.run.Hashes.of(TrainPipeline.goldenModel("llama")),
                    model.tokenizer().file(), pairs, 2), "the stage's key is the hash of model, tokenizer, data, batching");
            ReferenceLogps ok = ReferenceLogps.load(cache, key, pairs);
            assertEquals(pairs.size(), ok.size());

            CtlabException missing = assertThrows(CtlabException.class,
                    () -> ReferenceLogps.load(tmp.resolve("nope.json"), key, pairs));
            assertTrue(missing.getMessage().contains("missing"), missing.getMessage());
            CtlabException other = assertThrows(CtlabException.class, () -> ReferenceLogps.load(cache, "0".repeat(64), pairs));
            assertTrue(other.getMessage().contains("another reference model"), other.getMessage());
            // other data (one pair fewer) gives another key
            assertNotEquals(key, ReferenceLogps.key("m", null, pairs.subList(1, pairs.size()), 2));

            // a cache whose values do not come from this reference (same key) is caught at step 0
            List<float[]> shifted = new ArrayList<>();
            for (float[] row : ok.chosen()) {
                float[] s = row.clone();
                for (int t = 0; t < s.length; t++) s[t] -= 0.05f;
                shifted.add(s);
            }
            ReferenceLogps wrong = new ReferenceLogps(key, shifted, ok.rejected());
            var config = new PreferenceTraining.Config(ctlab.train.loss.PreferenceLoss.create(
                    RunConfig.parse(TrainPipeline.config("m", ""), "t", List.of()).train().loss(ctlab.train.loss.LossType.DPO)),
                    new Lora.Config(4, 8, 0, List.of("q_proj")), ctlab.train.TrainConfig.builder().maxSteps(1).build(), 2, 96, 48, 1);
            CtlabException gap = assertThrows(CtlabException.class,
                    () -> PreferenceTraining.train(model, pairs, wrong, config, tmp.resolve("wrong"), java.util.Map.of()));
            assertTrue(gap.getMessage().contains("do not match"), gap.getMessage());
        }

        // through the stage: a re-run that finds a cache with another key stops with the error (never recomputes)
        ObjectNode tampered = (ObjectNode) Jsonl.MAPPER.readTree(Files.readString(cache));
        Path copy = tmp.resolve("run-tampered");
        copyTree(run, copy);
        tampered.put("key", "f".repeat(64));
        Files.writeString(copy.resolve("07-train/reference-logps.json"), tampered.toString());
        Files.delete(copy.resolve("07-train/DONE"));
        Files.delete(copy.resolve("07-train/policies.json"));
        RunConfig c = RunConfig.parse(TrainPipeline.config(TrainPipeline.goldenModel("llama").toString(), ""),
                "test.yaml", List.of("train.losses=[sft, dpo, rpo, tokendpo, cdpo, cdpo-official]"));
        CtlabException e = assertThrows(CtlabException.class,
                () -> new Pipeline(new TrainPipeline().get()).run(c, copy, Pipeline.Options.defaults()));
        assertTrue(e.getMessage().contains("reference log-prob cache was made for another"), e.getMessage());
    }

    static void copyTree(Path from, Path to) throws Exception {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else if (!p.getFileName().toString().equals(".lock")) Files.copy(p, t);
            }
        }
    }
}

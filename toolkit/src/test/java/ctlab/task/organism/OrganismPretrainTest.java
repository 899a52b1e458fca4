package ctlab.task.organism;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ctlab.model.LlamaModel;
import ctlab.task.Problem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The CI-sized pretraining recipe end to end (seconds on two cores). */
class OrganismPretrainTest {
    @TempDir Path out;

    @Test
    void ciRecipeLowersTheLossAndTheSavedModelReloadsWithIdenticalLogits() throws Exception {
        PretrainConfig c = PretrainConfig.ci();
        try (OrganismPretrain.Trained t = OrganismPretrain.train(c, out, s -> {})) {
            assertEquals(c.steps(), t.training().step());
            assertTrue(t.lastLoss() < t.firstLoss() - 0.5,
                    "loss should fall: " + t.firstLoss() + " -> " + t.lastLoss());
            for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                    "special_tokens_map.json", "generation_config.json", "pretrain_config.json"))
                assertTrue(Files.isRegularFile(t.modelDir().resolve(f)), "missing " + f);
            assertTrue(Files.isRegularFile(out.resolve("train/metrics.jsonl")));

            // a right-padded batch of two real prompts
            List<Problem> test = t.splits().get(Split.TEST).stream().map(OrganismTask::toProblem).toList();
            int[] a = OrganismEval.promptIds(t.tokenizer(), OrganismTask.INSTANCE, test.get(0).question());
            int[] b = OrganismEval.promptIds(t.tokenizer(), OrganismTask.INSTANCE, test.get(1).question());
            int len = Math.max(a.length, b.length);
            long[] ids = new long[2 * len];
            float[] mask = new float[2 * len];
            for (int j = 0; j < a.length; j++) { ids[j] = a[j]; mask[j] = 1; }
            for (int j = 0; j < b.length; j++) { ids[len + j] = b[j]; mask[len + j] = 1; }

            float[] before;
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray lg = t.model().logits(m.create(ids, new Shape(2, len)), m.create(mask, new Shape(2, len)));
                before = lg.toFloatArray();
            }
            try (LlamaModel reloaded = LlamaModel.load(t.modelDir(), Device.cpu()); NDManager m = NDManager.newBaseManager()) {
                assertNotNull(reloaded.tokenizer(), "tokenizer.json loads with the model");
                assertArrayEquals(t.tokenizer().encode(test.get(0).question()),
                        reloaded.tokenizer().encode(test.get(0).question()));
                float[] after = reloaded.logits(m.create(ids, new Shape(2, len)), m.create(mask, new Shape(2, len)))
                        .toFloatArray();
                assertArrayEquals(before, after, 0f, "reloaded logits must be identical");
            }
        }
    }

    @Test
    void ciTrapsRecipeTrainsOnTheBiasedCorpusAndReportsTrapVsNoTrap() throws Exception {
        PretrainConfig c = PretrainConfig.ci().withTraps(new Traps(List.of("donate", "lend"), 0.5, List.of(0.9)));
        var r = OrganismPretrain.run(c, out, true, s -> {});
        assertTrue(r.lastLoss() < r.firstLoss());
        var saved = ctlab.io.Jsonl.MAPPER.readValue(Files.readString(r.modelDir().resolve("pretrain_config.json")),
                PretrainConfig.class);
        assertEquals(c, saved, "the recipe with its traps is stored next to the model");
        assertTrue(Files.readString(r.modelDir().resolve("tokenizer.json")).contains("\"donated \""), "v2 vocabulary");
        var eval = ctlab.io.Jsonl.MAPPER.readTree(Files.readString(out.resolve("eval.json")));
        var traps = eval.path("traps");
        int clean = traps.path("clean").path("n").asInt(), trapped = traps.path("trapped").path("n").asInt();
        assertTrue(trapped > 0 && clean > 0, eval.toString());
        assertEquals(c.testProblems(), clean + trapped);
        var b = traps.path("greedyBranches");
        assertEquals(trapped, b.path("correct").asInt() + b.path("trap").asInt() + b.path("other").asInt());
        // the train split on disk carries the biased corpus solutions the model was trained on
        var train = OrganismData.read(out.resolve("data/train.jsonl"));
        assertTrue(train.stream().anyMatch(p -> p.trap() != null && p.trap().pretrainSolution() != null));
        // organism eval re-measures the same from the folder (test split regenerated with the traps)
        var again = OrganismEvalRun.run(r.modelDir(), null, null, 0, 1.0, 1, null);
        assertNotNull(again.traps());
        assertEquals(trapped, again.traps().trapped().n());
    }

    @Test
    void samplingIsSeededAndTemperatureZeroIsTheEnginesGreedy() throws Exception {
        PretrainConfig c = PretrainConfig.ci();
        try (OrganismPretrain.Trained t = OrganismPretrain.train(c, out, s -> {})) {
            List<int[]> prompts = new ArrayList<>();
            for (OrganismProblem p : t.splits().get(Split.TEST).subList(0, 3))
                prompts.add(OrganismEval.promptIds(t.tokenizer(), OrganismTask.INSTANCE, p.question()));
            int eos = t.tokenizer().eosId();
            List<int[]> greedy = OrganismSampling.generate(t.model(), prompts, 24, eos, 0.0, 1);
            List<int[]> engine = t.model().greedy(prompts, 24, eos);
            for (int i = 0; i < prompts.size(); i++) assertArrayEquals(engine.get(i), greedy.get(i));

            List<int[]> s1 = OrganismSampling.generate(t.model(), prompts, 24, eos, 1.0, 7);
            List<int[]> s2 = OrganismSampling.generate(t.model(), prompts, 24, eos, 1.0, 7);
            List<int[]> s3 = OrganismSampling.generate(t.model(), prompts, 24, eos, 1.0, 8);
            boolean differs = false;
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(s1.get(i), s2.get(i), "same seed, same samples");
                differs |= !java.util.Arrays.equals(s1.get(i), s3.get(i));
            }
            assertTrue(differs, "another seed should change at least one sample of an undertrained model");
        }
    }

    @Test
    void drawFollowsTheSoftmaxAndArgmaxPicksTheMaximum() {
        float[] logits = {0f, (float) Math.log(3), -50f};          // p = 1/4, 3/4, ~0
        var rng = new java.util.SplittableRandom(3);
        int[] counts = new int[3];
        for (int i = 0; i < 20_000; i++) counts[OrganismSampling.draw(logits, 0, 3, 1.0, rng)]++;
        assertEquals(0.25, counts[0] / 20_000.0, 0.015);
        assertEquals(0.75, counts[1] / 20_000.0, 0.015);
        assertEquals(0, counts[2]);
        // temperature 0.5 sharpens: p ∝ (1, 9)
        int[] sharp = new int[3];
        for (int i = 0; i < 20_000; i++) sharp[OrganismSampling.draw(logits, 0, 3, 0.5, rng)]++;
        assertEquals(0.9, sharp[1] / 20_000.0, 0.015);
        assertEquals(1, OrganismSampling.argmax(new float[] {9f, 1f, 5f, 2f}, 1, 3));   // offset 1: {1, 5, 2}
    }

    @Test
    void wilsonIntervalAndSampleCheckCountsAreRight() {
        var acc = OrganismEval.Accuracy.of(100, 50);
        assertEquals(0.5, acc.accuracy());
        assertEquals(0.4038, acc.lower(), 1e-4);    // Wilson 95%: 0.5 ± 0.0962 at n = 100
        assertEquals(0.5962, acc.upper(), 1e-4);
        var r = (java.util.function.BiFunction<String, Boolean, OrganismEval.Response>)
                (id, ok) -> new OrganismEval.Response(id, "", null, ok);
        var check = OrganismEval.SampleCheck.of(List.of(
                List.of(r.apply("a", true), r.apply("a", false)),
                List.of(r.apply("b", true), r.apply("b", true)),
                List.of(r.apply("c", false), r.apply("c", false)),
                List.of(r.apply("d", false), r.apply("d", true))));
        assertEquals(2, check.mixed());
        assertEquals(1, check.allCorrect());
        assertEquals(1, check.allWrong());
        assertEquals(0.5, check.mixedFraction());
        assertEquals(0.5, check.sampleAccuracy());
    }
}

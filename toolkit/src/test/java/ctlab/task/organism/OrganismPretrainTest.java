package ctlab.task.organism;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ctlab.model.LlamaModel;
import ctlab.sample.Sampler;
import ctlab.task.Problem;
import ctlab.task.Task;
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
        int clean = traps.path("clean").path("total").asInt(), trapped = traps.path("trapped").path("total").asInt();
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
        assertEquals(trapped, again.traps().trapped().total());
    }

    @Test
    void organismChecksRunOnTheSamplerSeededPerSampleWhateverTheBatchSize() throws Exception {
        PretrainConfig c = PretrainConfig.ci();
        try (OrganismPretrain.Trained t = OrganismPretrain.train(c, out, s -> {})) {
            Task task = OrganismTask.INSTANCE;
            List<Problem> problems = t.splits().get(Split.TEST).subList(0, 3).stream().map(OrganismTask::toProblem).toList();
            List<int[]> prompts = new ArrayList<>();
            for (Problem p : problems) prompts.add(OrganismEval.promptIds(t.tokenizer(), task, p.question()));
            int eos = t.tokenizer().eosId();
            // greedy: the engine's greedy ids, as text, cut before a stop string
            var greedy = OrganismEval.run(t.model(), t.tokenizer(), task, problems, 1, 0.0, 1, 64, 24);
            List<int[]> engine = Sampler.greedy(t.model(), prompts, 24, eos);
            for (int i = 0; i < prompts.size(); i++) {
                String full = t.tokenizer().decode(java.util.Arrays.stream(engine.get(i)).asLongStream().toArray(), true);
                String text = greedy.get(i).get(0).text();
                assertTrue(full.startsWith(text), "greedy text " + text + " vs " + full);
                String rest = full.substring(text.length());
                assertTrue(rest.isEmpty() || task.stopStrings().stream().anyMatch(rest::startsWith), "cut at a stop: " + rest);
            }
            // temperature samples: seeded per (seed, problem, sample), so the batch size does not change them
            var s1 = OrganismEval.run(t.model(), t.tokenizer(), task, problems, 3, 1.0, 7, 64, 24);
            var s2 = OrganismEval.run(t.model(), t.tokenizer(), task, problems, 3, 1.0, 7, 2, 24);
            var s3 = OrganismEval.run(t.model(), t.tokenizer(), task, problems, 3, 1.0, 8, 64, 24);
            boolean differs = false;
            for (int i = 0; i < problems.size(); i++) {
                for (int j = 0; j < 3; j++) {
                    assertEquals(s1.get(i).get(j).text(), s2.get(i).get(j).text(), "batch 64 vs 2, problem " + i + " sample " + j);
                    differs |= !s1.get(i).get(j).text().equals(s3.get(i).get(j).text());
                }
            }
            assertTrue(differs, "another seed should change at least one sample of an undertrained model");
        }
    }

    @Test
    void wilsonIntervalAndSampleCheckCountsAreRight() {
        var acc = OrganismEval.greedyAccuracy(java.util.stream.IntStream.range(0, 100)
                .mapToObj(i -> List.of(new OrganismEval.Response("p" + i, "", null, i % 2 == 0))).toList());
        assertEquals(0.5, acc.estimate());
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

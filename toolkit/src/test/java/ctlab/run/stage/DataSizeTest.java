package ctlab.run.stage;

import ctlab.CtlabException;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.task.organism.OrganismData;
import ctlab.task.organism.OrganismTask;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Issue #10: fewer problems in a data file than the config asks for, and prompts longer than the model's positions. */
class DataSizeTest {
    @TempDir Path tmp;

    @org.junit.jupiter.api.BeforeAll static void oneThread() { OrganismFixture.oneThread(); }

    @org.junit.jupiter.api.AfterAll static void restoreThreads() { OrganismFixture.restoreThreads(); }

    /** The fixture config with its training file cut to {@code lines} problems. */
    RunConfig withTrainLines(int lines, String extra) throws Exception {
        Path train = tmp.resolve("train.jsonl");
        List<String> all = Files.readAllLines(OrganismFixture.base().resolve("data/train.jsonl"));
        Files.write(train, all.subList(0, lines));
        return RunConfig.parse(OrganismFixture.yaml(extra), "test.yaml", List.of("data.train=" + train));
    }

    @Test void aTrainingFileShorterThanSampleProblemsIsAnError() throws Exception {
        RunConfig c = withTrainLines(3, "sample: {problems: 5, n: 1, max_new_tokens: 4, batch_size: 4}\n");
        Path dir = tmp.resolve("run");
        CtlabException e = assertThrows(CtlabException.class,
                () -> Stages.pipeline().run(c, dir, new Pipeline.Options(Set.of("sample"), Set.of(), null)));
        assertEquals("sample.problems: 5 problems asked for, but " + tmp.resolve("train.jsonl")
                + " has only 3; lower sample.problems (0 = all) or use a larger data file", e.getMessage());
        assertFalse(Files.exists(dir.resolve("01-sample/samples.jsonl")));
    }

    @Test void organismDataOfAnEarlierAttemptIsReusedOnlyWhenItHoldsWhatTheConfigAsks() throws Exception {
        Path model = OrganismFixture.base().resolve("model");
        Path data = tmp.resolve("data");
        OrganismTask.INSTANCE.prepareData(model, data, 20, 10, false);
        String train = Files.readString(data.resolve("train.jsonl"));
        OrganismTask.INSTANCE.prepareData(model, data, 12, 10, false);                          // fewer: the stages take the first 12
        assertEquals(train, Files.readString(data.resolve("train.jsonl")));
        CtlabException e = assertThrows(CtlabException.class, () -> OrganismTask.INSTANCE.prepareData(model, data, 40, 10, false));
        assertEquals(data + ": the organism splits of an earlier attempt hold 20 training and 10 test problems, fewer than "
                + "the config asks for (40 and 10); use a new --run-dir, or delete " + data + " to have it regenerated",
                e.getMessage());
        assertEquals(train, Files.readString(data.resolve("train.jsonl")), "left as it was");
        // the splits are prefix-stable: a fresh 40 starts with the same 20
        Path fresh = tmp.resolve("fresh");
        OrganismTask.INSTANCE.prepareData(model, fresh, 40, 10, false);
        assertTrue(Files.readString(fresh.resolve("train.jsonl")).startsWith(train));
        // another recipe's splits are not reused either
        String manifest = Files.readString(data.resolve(OrganismData.MANIFEST));
        Files.writeString(data.resolve(OrganismData.MANIFEST), manifest.replaceFirst("\"seed\" : (\\d+)", "\"seed\" : 999$1"));
        e = assertThrows(CtlabException.class, () -> OrganismTask.INSTANCE.prepareData(model, data, 12, 10, false));
        assertTrue(e.getMessage().contains("were generated from another recipe"), e.getMessage());
    }

    @Test void anEarlierRecipeFolderWithAnEmptyValidationSplitGetsOneAndKeepsTrainAndTest() throws Exception {
        Path model = OrganismFixture.base().resolve("model");
        Path data = tmp.resolve("data");
        OrganismTask.INSTANCE.prepareData(model, data, 20, 10, false);
        var validation = OrganismData.read(data.resolve("validation.jsonl"));
        String train = Files.readString(data.resolve("train.jsonl")), test = Files.readString(data.resolve("test.jsonl"));
        // a folder of the same recipe written before validation was generated (0 problems) gets it, train/test untouched
        Path old = tmp.resolve("old");
        OrganismData.write(old, recipeGenerator(model), java.util.Map.of(ctlab.task.organism.Split.TRAIN, 20,
                ctlab.task.organism.Split.TEST, 10));
        assertEquals(0, Files.size(old.resolve("validation.jsonl")));
        OrganismTask.INSTANCE.prepareData(model, old, 20, 10, false);
        assertEquals(validation, OrganismData.read(old.resolve("validation.jsonl")));
        assertEquals(train, Files.readString(old.resolve("train.jsonl")));
        assertEquals(test, Files.readString(old.resolve("test.jsonl")));
        assertTrue(Files.readString(old.resolve(OrganismData.MANIFEST)).contains("\"validation\" : 10"));
    }

    private static ctlab.task.organism.ProblemGenerator recipeGenerator(Path model) throws Exception {
        var pc = ctlab.io.Jsonl.MAPPER.readValue(Files.readString(model.resolve("pretrain_config.json")),
                ctlab.task.organism.PretrainConfig.class);
        return pc.generator();
    }

    @Test void aTrapsModelsDataIsRegeneratedWithItsTrapsAndV1SplitsAreNotReusedForIt() throws Exception {
        Path model = Path.of("../models/organism-traps");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(model.resolve("pretrain_config.json")),
                "models/organism-traps not found");
        var recipe = ctlab.task.organism.PretrainConfig.trapsRecipe();
        Path data = tmp.resolve("traps-data");
        OrganismTask.INSTANCE.prepareData(model, data, 40, 20, false);
        var test = OrganismData.read(data.resolve("test.jsonl"));
        assertTrue(test.stream().anyMatch(p -> p.trap() != null), "the traps model's test split has traps");
        // a validation split as large as test, for tuning (eval.split: validation); train and test are the same
        // problems as without it (the splits are prefix-stable per split)
        var validation = OrganismData.read(data.resolve("validation.jsonl"));
        assertEquals(20, validation.size());
        assertTrue(validation.stream().allMatch(p -> p.split() == ctlab.task.organism.Split.VALIDATION));
        Path noValidation = tmp.resolve("traps-no-validation");
        OrganismData.write(noValidation, recipe.generator(), java.util.Map.of(ctlab.task.organism.Split.TRAIN, 40, ctlab.task.organism.Split.TEST, 20));
        assertEquals(Files.readString(noValidation.resolve("train.jsonl")), Files.readString(data.resolve("train.jsonl")));
        assertEquals(Files.readString(noValidation.resolve("test.jsonl")), Files.readString(data.resolve("test.jsonl")));
        // v1 splits of the same seed and difficulty are another recipe's: not silently reused
        Path v1 = tmp.resolve("v1-data");
        OrganismData.write(v1, new ctlab.task.organism.ProblemGenerator(recipe.difficulty(), recipe.dataSeed()),
                java.util.Map.of(ctlab.task.organism.Split.TRAIN, 40, ctlab.task.organism.Split.TEST, 20));
        CtlabException e = assertThrows(CtlabException.class, () -> OrganismTask.INSTANCE.prepareData(model, v1, 40, 20, false));
        assertTrue(e.getMessage().contains("another recipe"), e.getMessage());
    }

    @Test void aNotebooksScratchDataIsRegeneratedWhenTooSmall() throws Exception {
        String model = OrganismFixture.base().resolve("model").toString(), data = tmp.resolve("nb-data").toString();
        List<ctlab.task.Problem> four = ctlab.lab.Lab.organismProblems(model, data, "test", 4);
        List<ctlab.task.Problem> twelve = ctlab.lab.Lab.organismProblems(model, data, "test", 12);
        assertEquals(4, four.size());
        assertEquals(12, twelve.size(), "12 asked after 4: regenerated, not the 4 of the first call");
        assertEquals(four, twelve.subList(0, 4));
    }

    @Test void promptsPastMaxPositionEmbeddingsAreWarnedAbout() throws Exception {
        // the fixture model with a position limit its prompts exceed
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        try (var files = Files.list(OrganismFixture.base().resolve("model"))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) Files.copy(f, model.resolve(f.getFileName()));
        }
        String cfg = Files.readString(model.resolve("config.json"));
        assertTrue(cfg.matches("(?s).*\"max_position_embeddings\" : \\d+.*"), cfg);
        Files.writeString(model.resolve("config.json"), cfg.replaceFirst("\"max_position_embeddings\" : \\d+", "\"max_position_embeddings\" : 12"));
        RunConfig c = RunConfig.parse(OrganismFixture.yaml("sample: {problems: 2, n: 1, max_new_tokens: 4, batch_size: 2, few_shot: false}\n"),
                "test.yaml", List.of("model=" + model));
        Path dir = tmp.resolve("run");
        Stages.pipeline().run(c, dir, new Pipeline.Options(Set.of("sample"), Set.of(), null));
        String log = Files.readString(dir.resolve("01-sample/log.txt"));
        assertTrue(log.contains("warning: 2 of 2 prompts plus max_new_tokens 4 exceed the model's max_position_embeddings 12"), log);

        // within the limit: no warning
        Path ok = tmp.resolve("ok");
        Stages.pipeline().run(OrganismFixture.config("sample: {problems: 2, n: 1, max_new_tokens: 4, batch_size: 2, few_shot: false}\n"),
                ok, new Pipeline.Options(Set.of("sample"), Set.of(), null));
        assertFalse(Files.readString(ok.resolve("01-sample/log.txt")).contains("max_position_embeddings"));
    }
}

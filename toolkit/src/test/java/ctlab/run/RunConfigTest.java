package ctlab.run;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class RunConfigTest {
    static final String MINIMAL = "task: gsm8k\nmodel: models/base\n";

    @TempDir Path tmp;

    private Path write(String name, String text) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    private CtlabException fails(String yaml, String... sets) throws Exception {
        Path f = write("bad.yaml", yaml);
        return assertThrows(CtlabException.class, () -> RunConfig.load(f, List.of(sets)));
    }

    @Test void modelDtypeDefaultsToFloat32AndBadValuesNameTheKey() throws Exception {
        assertEquals("float32", RunConfig.load(write("exp1.yaml", MINIMAL), List.of()).modelDtype());
        assertEquals("float16", RunConfig.load(write("exp1.yaml", MINIMAL), List.of("model_dtype=float16")).modelDtype());
        CtlabException e = fails(MINIMAL + "model_dtype: int8\n");
        assertTrue(e.getMessage().contains("bad.yaml: model_dtype: must be one of [float32, float16, bfloat16], got 'int8'"),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test void defaultsAreTheOfficialHyperParameters() throws Exception {
        RunConfig c = RunConfig.load(write("exp1.yaml", MINIMAL), List.of());
        assertEquals("exp1", c.name(), "name defaults to the file stem");
        assertEquals(0.95, c.sample().topP());
        assertEquals(1024, c.sample().maxNewTokens());
        assertEquals(64, c.sample().n());
        assertEquals(8, c.sft().lora().r());
        assertEquals(List.of("gate_proj", "up_proj", "down_proj"), c.sft().lora().targets());
        assertEquals(3e-4, c.sft().lr());
        assertEquals(100, c.sft().warmupSteps());
        assertEquals(1, c.sft().epochs());
        assertEquals(1.0, c.ce().beta());
        assertEquals(0.1, c.train().beta());
        assertEquals(4e-5, c.train().lr());
        assertEquals(3, c.train().epochs());
        assertEquals(0.1, c.train().warmupRatio());
        assertEquals(0.01, c.train().weightDecay());
        assertEquals(8, c.train().effectiveBatch());
        assertEquals(4, c.train().gradAccumulation());
        assertEquals(16, c.train().lora().r());
        assertEquals(32.0, c.train().lora().alpha());
        assertEquals(RunConfig.LORA_TARGETS, c.train().lora().targets());
        assertEquals(0.5, c.select().negTopP());
    }

    @Test void lossKnobsHaveTheLossConfigNames() throws Exception {
        java.util.Set<String> train = new java.util.TreeSet<>();
        ConfigLoader.defaultsTree().get("train").fieldNames().forEachRemaining(train::add);
        for (String key : ctlab.train.loss.LossConfig.KEYS) {
            if (!key.equals("type")) assertTrue(train.contains(key), "train." + key + " (a LossConfig key) in " + train);
        }
        RunConfig c = RunConfig.load(write("knobs.yaml", MINIMAL + "train:\n  losses: [tokendpo, cdpo]\n  only_neg: false\n"
                + "  tdpo2: false\n  rpo_alpha: 0.5\n  label_smoothing: 0.1\n"), List.of());
        ctlab.train.loss.LossConfig cdpo = c.train().loss(ctlab.train.loss.LossType.CDPO);
        assertFalse(cdpo.onlyNegative());
        assertFalse(c.train().loss(ctlab.train.loss.LossType.TOKEN_DPO).tdpo2());
        assertEquals(0.5, cdpo.rpoAlpha());
        assertEquals(0.1, cdpo.labelSmoothing());
        assertEquals(c.train().beta(), cdpo.beta());
    }

    @Test void renamedLossKeysNameTheirNewName() throws Exception {
        CtlabException e = fails(MINIMAL + "train:\n  chosen_weight: ce\n");
        assertTrue(e.getMessage().endsWith("bad.yaml: train.chosen_weight: renamed to train.only_neg "
                + "(chosen_weight: one is only_neg: true, ce is only_neg: false)"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        e = fails(MINIMAL, "train.tdpo_variant=1");
        assertTrue(e.getMessage().endsWith("train.tdpo_variant: renamed to train.tdpo2 (tdpo_variant: 2 is tdpo2: true, "
                + "1 is tdpo2: false)"), e.getMessage());
    }

    @Test void lossKnobsAreValidatedOnceAsTheLossReadsThem() throws Exception {
        // rpo_alpha > 0 for rpo (α = 0 is plain dpo), checked when the config loads, not when the stage starts
        CtlabException e = fails(MINIMAL + "train:\n  losses: [dpo, rpo]\n  rpo_alpha: 0\n");
        assertTrue(e.getMessage().contains("bad.yaml: train.rpo_alpha: must be > 0 for rpo, got 0"), e.getMessage());
        e = fails(MINIMAL + "train:\n  losses: [tokendpo]\n  tdpo_alpha: 1.5\n");
        assertTrue(e.getMessage().contains("train.tdpo_alpha: must be in (0, 1] for TDPO2"), e.getMessage());
        e = fails(MINIMAL + "train:\n  beta: 0\n");
        assertTrue(e.getMessage().contains("train.beta: must be > 0, got 0"), e.getMessage());
        assertEquals(0.0, RunConfig.load(write("ok.yaml", MINIMAL + "train:\n  losses: [dpo]\n  rpo_alpha: 0\n"), List.of())
                .train().rpoAlpha(), "a knob no listed loss reads is not checked");
    }

    @Test void unknownKeyNamesPathFileAndSuggestion() throws Exception {
        CtlabException e = fails(MINIMAL + "sample:\n  topp: 0.9\n");
        assertTrue(e.getMessage().contains("bad.yaml"), e.getMessage());
        assertTrue(e.getMessage().endsWith("sample.topp: unknown key (did you mean top_p?)"), e.getMessage());

        e = fails(MINIMAL + "zzzz: 1\n");
        assertTrue(e.getMessage().contains("zzzz: unknown key (known keys here: name, seed"), e.getMessage());
    }

    @Test void outOfRangeNamesKeyPathAndFile() throws Exception {
        CtlabException e = fails(MINIMAL + "train:\n  beta: -1\n");
        assertTrue(e.getMessage().endsWith("bad.yaml: train.beta: must be > 0, got -1"), e.getMessage());

        e = fails(MINIMAL + "sample:\n  top_p: 1.5\n");
        assertTrue(e.getMessage().endsWith("sample.top_p: must be in (0, 1], got 1.5"), e.getMessage());

        e = fails(MINIMAL + "train:\n  lora:\n    r: 0\n");
        assertTrue(e.getMessage().endsWith("train.lora.r: must be >= 1, got 0"), e.getMessage());

        e = fails(MINIMAL + "train:\n  losses: [cdpo, dop]\n");
        assertTrue(e.getMessage().contains("train.losses[1]: must be one of"), e.getMessage());
        assertTrue(e.getMessage().contains("got 'dop' (did you mean dpo?)"), e.getMessage());

        e = fails(MINIMAL + "train:\n  batch_size: 3\n");
        assertTrue(e.getMessage().contains("train.effective_batch: must be a multiple of batch_size (3), got 8"),
                e.getMessage());
    }

    @Test void wrongTypeNamesKeyPathAndExpectedType() throws Exception {
        CtlabException e = fails(MINIMAL + "sample:\n  n: lots\n");
        assertTrue(e.getMessage().endsWith("bad.yaml: sample.n: expected an integer, got 'lots' (a string)"), e.getMessage());

        e = fails(MINIMAL + "sample:\n  n: 2.5\n");
        assertTrue(e.getMessage().endsWith("sample.n: expected an integer, got 2.5"), e.getMessage());

        e = fails(MINIMAL + "sample: 3\n");
        assertTrue(e.getMessage().endsWith("sample: expected a section of keys, got 3"), e.getMessage());

        e = fails(MINIMAL + "select:\n  skip_unextracted: maybe\n");
        assertTrue(e.getMessage().contains("select.skip_unextracted: expected true or false"), e.getMessage());
    }

    @Test void missingRequiredKey() throws Exception {
        CtlabException e = fails("model: m\n");
        assertTrue(e.getMessage().endsWith("bad.yaml: task: required, but missing or null"), e.getMessage());
    }

    @Test void syntaxErrorsAndDuplicatesNameTheLine() throws Exception {
        CtlabException e = fails("task: gsm8k\nsample: [oops\n");
        assertTrue(e.getMessage().matches(".*bad\\.yaml:\\d+:\\d+: not valid YAML.*"), e.getMessage());

        e = fails("task: gsm8k\nmodel: a\ntask: math500\n");
        assertTrue(e.getMessage().contains("bad.yaml:3:"), e.getMessage());
        assertTrue(e.getMessage().contains("Duplicate field 'task'"), e.getMessage());
    }

    @Test void setOverridesWinAndAreNamedInErrors() throws Exception {
        Path f = write("exp.yaml", MINIMAL + "train:\n  beta: 0.3\n");
        RunConfig c = RunConfig.load(f, List.of("train.beta=0.2", "train.losses=[dpo, cdpo]", "sample.stop=[\"\\n\\n\"]",
                "name=other"));
        assertEquals(0.2, c.train().beta());
        assertEquals(List.of("dpo", "cdpo"), c.train().losses());
        assertEquals(List.of("\n\n"), c.sample().stop());
        assertEquals("other", c.name());

        CtlabException e = assertThrows(CtlabException.class, () -> RunConfig.load(f, List.of("train.beta=-1")));
        assertEquals("--set train.beta=-1: train.beta: must be > 0, got -1", e.getMessage());
        e = assertThrows(CtlabException.class, () -> RunConfig.load(f, List.of("sample.topp=1")));
        assertEquals("--set sample.topp=1: sample.topp: unknown key (did you mean top_p?)", e.getMessage());
        e = assertThrows(CtlabException.class, () -> RunConfig.load(f, List.of("train.beta")));
        assertTrue(e.getMessage().contains("expected key.path=value"), e.getMessage());
    }

    @Test void jsonFilesAndRoundTripThroughResolvedYaml() throws Exception {
        Path j = write("exp.json", "{\"task\": \"math500\", \"model\": \"m\", \"ce\": {\"beta\": 2}}");
        RunConfig c = RunConfig.load(j, List.of());
        assertEquals(2.0, c.ce().beta());
        assertEquals("math500", c.task());

        Path y = write("resolved.yaml", c.toYaml());
        assertEquals(c, RunConfig.load(y, List.of()), "config.yaml reloads to the same config");
        assertTrue(c.toYaml().contains("top_p: 0.95"), c.toYaml());

        CtlabException e = assertThrows(CtlabException.class,
                () -> RunConfig.load(write("b.json", "{\"task\": \"gsm8k\",}"), List.of()));
        assertTrue(e.getMessage().contains("b.json:1:"), e.getMessage());
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test void shippedConfigsAreValid() throws Exception {
        Path configs = Path.of("").toAbsolutePath().getParent().resolve("configs");   // tests run in toolkit/
        assertTrue(Files.isDirectory(configs), configs.toString());
        RunConfig ci = RunConfig.load(configs.resolve("organism-ci.yaml"), List.of());
        assertEquals("organism-ci", ci.name());
        assertEquals(List.of("dpo", "cdpo"), ci.train().losses());
        RunConfig full = RunConfig.load(configs.resolve("organism.yaml"), List.of());
        assertEquals(RunConfig.LOSSES, full.train().losses());
        assertEquals(0.95, full.sample().topP());
        assertEquals(0.1, full.train().beta());
        // the traps configs (organism v2) are their v1 twins on models/organism-traps
        for (String[] twin : new String[][] {{"demo.yaml", "demo-traps.yaml"}, {"organism.yaml", "organism-traps.yaml"}}) {
            RunConfig v1 = RunConfig.load(configs.resolve(twin[0]), List.of());
            RunConfig v2 = RunConfig.load(configs.resolve(twin[1]), List.of());
            assertEquals("models/organism-traps", v2.model(), twin[1]);
            assertEquals(List.of(v1.sample(), v1.select(), v1.sft(), v1.ce(), v1.rollout(), v1.train(), v1.eval()),
                    List.of(v2.sample(), v2.select(), v2.sft(), v2.ce(), v2.rollout(), v2.train(), v2.eval()), twin[1]);
        }
    }

    /** configs/paper: every file validates, sets only model, task, precision, device and the official temperature. */
    @Test void paperConfigsAreValidAndOfficial() throws Exception {
        Path dir = Path.of("").toAbsolutePath().getParent().resolve("configs/paper");
        // official TEMPERATURE_BY_DATASET_AND_MODEL (Critical-Tokens-Matter src/configs/data_config.py); the small
        // Qwen has no official value and borrows Qwen2.5-7B's
        java.util.Map<String, Double> temperature = java.util.Map.of(
                "llama3-8b-gsm8k", 0.5, "llama3-8b-math500", 0.1,
                "deepseek-math-7b-gsm8k", 1.0, "deepseek-math-7b-math500", 0.3,
                "qwen2.5-7b-gsm8k", 0.9, "qwen2.5-7b-math500", 0.5,
                "qwen2.5-math-1.5b-gsm8k", 0.9, "qwen2.5-math-1.5b-math500", 0.5);
        List<Path> files;
        try (var s = Files.list(dir)) { files = s.filter(f -> f.toString().endsWith(".yaml")).sorted().toList(); }
        assertEquals(temperature.size(), files.size(), files.toString());
        for (Path f : files) {
            String stem = f.getFileName().toString().replace(".yaml", "");
            RunConfig c = RunConfig.load(f, List.of());
            assertEquals(stem, c.name());
            assertTrue(stem.endsWith("-" + c.task()), stem + " task " + c.task());
            assertTrue(c.model().startsWith("models/") && !Files.exists(dir.getParent().getParent().resolve(c.model())),
                    stem + ": the model is a placeholder folder, not shipped: " + c.model());
            assertEquals("gpu", c.device(), stem);
            assertEquals("float16", c.modelDtype(), stem);
            assertEquals(temperature.get(stem), c.sample().temperature(), stem);
            // everything else is the official defaults
            RunConfig d = RunConfig.load(write("d.yaml", "task: " + c.task() + "\nmodel: " + c.model() + "\n"),
                    List.of("sample.temperature=" + c.sample().temperature()));
            assertEquals(List.of(d.data(), d.sample(), d.select(), d.sft(), d.ce(), d.rollout(), d.train(), d.eval()),
                    List.of(c.data(), c.sample(), c.select(), c.sft(), c.ce(), c.rollout(), c.train(), c.eval()), stem);
        }
    }

    @Test void trickyStringsSurviveTheResolvedYaml() throws Exception {
        List<String> stops = List.of("\n\nQuestion:", ".\n\nProblem:", "null", "yes", "1.5", "- x", "# y", "'q'", "\"");
        RunConfig c = RunConfig.parse(MINIMAL, "t.yaml", List.of());
        RunConfig tricky = new RunConfig(c.name(), c.seed(), c.device(), c.threads(), c.task(), c.data(), "models/a b: c", c.modelDtype(),
                new RunConfig.Sample(1, 2, 0.5, 0.9, 0, 16, stops, false, 1), c.select(), c.sft(), c.ce(), c.rollout(),
                c.train(), c.eval());
        Path y = write("tricky.yaml", tricky.toYaml());
        assertEquals(tricky, RunConfig.load(y, List.of()), tricky.toYaml());
    }

    // issue #10: JSON configs with trailing garbage were accepted
    @Test void jsonWithTrailingGarbageIsRefused() throws Exception {
        Path j = write("t.json", "{\"task\": \"math500\", \"model\": \"m\"}\n}\n");
        CtlabException e = assertThrows(CtlabException.class, () -> RunConfig.load(j, List.of()));
        assertTrue(e.getMessage().startsWith(j + ":2:"), e.getMessage());
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
        Path k = write("u.json", "{\"task\": \"math500\", \"model\": \"m\"} {\"seed\": 1}");
        e = assertThrows(CtlabException.class, () -> RunConfig.load(k, List.of()));
        assertTrue(e.getMessage().contains("not valid JSON (more text after the config object)"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
}

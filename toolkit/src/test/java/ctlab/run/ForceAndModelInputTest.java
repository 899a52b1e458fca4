package ctlab.run;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Issue #10: a forced stage that fails gets its finished folder back; a model input is its model files. */
class ForceAndModelInputTest {
    @TempDir Path tmp;

    /** Reads the model folder; writes out.txt; fails when the config's train.beta is 0.5 (a stand-in for a crash). */
    static final class ModelStage implements Stage {
        @Override public String name() { return "score"; }
        @Override public String description() { return "reads a model folder"; }
        @Override public List<String> configKeys() { return List.of("train"); }
        @Override public List<Input> inputs(RunConfig c) { return List.of(Input.external(c.model())); }
        @Override public List<String> outputs() { return List.of("out.txt"); }
        @Override public void run(StageContext ctx) throws Exception {
            Files.writeString(ctx.file("partial.txt"), "attempt with beta " + ctx.config().train().beta());
            if (ctx.config().train().beta() == 0.5) throw new CtlabException("stage crashed on purpose");
            Files.writeString(ctx.file("out.txt"), "beta " + ctx.config().train().beta());
        }
    }

    final Pipeline pipeline = new Pipeline(List.of(new ModelStage()));

    Path model() throws Exception {
        Path m = Files.createDirectories(tmp.resolve("model"));
        Files.writeString(m.resolve("config.json"), "{\"hidden_size\": 8}");
        Files.writeString(m.resolve("model.safetensors"), "weights");
        Files.writeString(m.resolve("tokenizer.json"), "{}");
        Files.writeString(m.resolve("README.md"), "# a model\n");
        return m;
    }

    RunConfig config(Path model, String... sets) {
        List<String> all = new java.util.ArrayList<>(List.of("model=" + model));
        all.addAll(List.of(sets));
        return RunConfig.parse("task: organism\nmodel: x\n", "exp.yaml", all);
    }

    @Test void aForcedStageThatFailsGetsItsFinishedFolderBack() throws Exception {
        Path m = model(), run = tmp.resolve("run");
        pipeline.run(config(m), run, Pipeline.Options.defaults());
        String done = Files.readString(run.resolve("01-score/DONE"));

        CtlabException e = assertThrows(CtlabException.class, () -> pipeline.run(config(m, "train.beta=0.5"), run,
                new Pipeline.Options(Set.of(), Set.of("score"), null)));
        assertEquals("stage crashed on purpose", e.getMessage());
        assertEquals("beta 0.1", Files.readString(run.resolve("01-score/out.txt")), "the finished outputs are back");
        assertEquals(done, Files.readString(run.resolve("01-score/DONE")));
        assertEquals("attempt with beta 0.1", Files.readString(run.resolve("01-score/partial.txt")),
                "the failed attempt's files are gone");
        assertTrue(Files.readString(run.resolve("log.txt")).contains("restored the previous 01-score/"));
        try (var s = Files.list(run)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.contains("score") && !n.equals("01-score")).toList(),
                    "no copy left beside it");
        }
        // and a forced run that succeeds replaces it
        pipeline.run(config(m, "train.beta=0.3"), run, new Pipeline.Options(Set.of(), Set.of("score"), null));
        assertEquals("beta 0.3", Files.readString(run.resolve("01-score/out.txt")));
        try (var s = Files.list(run)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.contains("score") && !n.equals("01-score")).toList());
        }
    }

    @Test void editingTheModelsReadmeDoesNotInvalidateTheRunAndAChangedModelFileIsNamed() throws Exception {
        Path m = model(), run = tmp.resolve("run");
        pipeline.run(config(m), run, Pipeline.Options.defaults());

        Files.writeString(m.resolve("README.md"), "# a model\n\nEvaluated: 42%.\n");
        List<Pipeline.Outcome> o = pipeline.run(config(m), run, Pipeline.Options.defaults());
        assertEquals(Pipeline.Status.SKIPPED, o.get(0).status(), "documentation is not part of the model");

        Files.writeString(m.resolve("tokenizer.json"), "{\"changed\": true}");
        CtlabException e = assertThrows(CtlabException.class, () -> pipeline.run(config(m), run, Pipeline.Options.defaults()));
        assertTrue(e.getMessage().contains("with a different " + m.resolve("tokenizer.json")), e.getMessage());
    }

    @Test void aMarkerFromBeforePerFileModelHashesStillMatchesAnUnchangedModel() throws Exception {
        Path m = model(), run = tmp.resolve("run");
        pipeline.run(config(m), run, Pipeline.Options.defaults());
        Path doneFile = run.resolve("01-score/DONE");
        StageMarker d = StageMarker.read(doneFile).orElseThrow();
        // the layout older versions wrote: one entry for the whole model folder
        new StageMarker(d.stage(), d.configHash(), d.config(), java.util.Map.of(m.toString(), Hashes.of(m)), d.outputs(),
                d.seed(), d.seeds(), d.versions(), d.device(), d.threads(), d.started(), d.finished(), d.seconds(),
                d.resumed()).write(doneFile);
        assertEquals(Pipeline.Status.SKIPPED, pipeline.run(config(m), run, Pipeline.Options.defaults()).get(0).status(),
                "an upgrade does not refuse every finished stage");
        Files.writeString(m.resolve("model.safetensors"), "other weights");
        CtlabException e = assertThrows(CtlabException.class, () -> pipeline.run(config(m), run, Pipeline.Options.defaults()));
        assertTrue(e.getMessage().contains("with a different " + m), e.getMessage());
    }

    @Test void theModelHashCoversTheModelFilesOnly() throws Exception {
        Path m = model();
        String before = Hashes.ofModel(m);
        Files.writeString(m.resolve("README.md"), "# edited\n");
        Files.writeString(m.resolve("eval.json"), "{\"accuracy\": 0.4}");
        assertEquals(before, Hashes.ofModel(m), "README and notes are not the model");
        Files.delete(m.resolve("README.md"));
        Files.delete(m.resolve("eval.json"));
        assertEquals(Hashes.of(m), before, "a folder of model files only hashes as before (reference caches stay valid)");
        Files.writeString(m.resolve("config.json"), "{\"hidden_size\": 16}");
        assertNotEquals(before, Hashes.ofModel(m));
    }

    @Test void aModelPathThatIsNotAModelFolderIsRefusedBeforeAnythingIsWritten() throws Exception {
        Path notModel = Files.createDirectories(tmp.resolve("docs"));
        Files.writeString(notModel.resolve("README.md"), "hi");
        Path run = tmp.resolve("run");
        CtlabException e = assertThrows(CtlabException.class, () -> pipeline.run(config(notModel), run, Pipeline.Options.defaults()));
        assertTrue(e.getMessage().contains(notModel + ": not a model folder (no config.json)"), e.getMessage());
        assertFalse(Files.exists(run.resolve("01-score")));
        assertFalse(Files.exists(run.resolve(RunDir.CONFIG)));
    }
}

package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.run.stage.Stages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

class PipelineTest {
    static final String CONFIG = "task: organism\nmodel: unused\nsample:\n  problems: 12\n  n: 2\ntrain:\n  epochs: 1\n";

    @TempDir Path tmp;

    final Pipeline pipeline = new Pipeline(new FakeStages().get());

    RunConfig config(String... sets) { return RunConfig.parse(CONFIG, "fake.yaml", List.of(sets)); }

    List<Pipeline.Outcome> run(Path dir, RunConfig c, Set<String> only, Set<String> force) {
        return pipeline.run(c, dir, new Pipeline.Options(only, force, null));
    }

    static List<Pipeline.Status> statuses(List<Pipeline.Outcome> o) { return o.stream().map(Pipeline.Outcome::status).toList(); }

    @Test void runsStagesIntoNumberedFoldersWithProvenance() throws Exception {
        Path dir = tmp.resolve("run");
        RunConfig c = config();
        assertEquals(List.of(Pipeline.Status.RAN, Pipeline.Status.RAN), statuses(run(dir, c, Set.of(), Set.of())));

        assertEquals(c, RunConfig.load(dir.resolve("config.yaml"), List.of()), "config.yaml is the resolved config");
        Path samples = dir.resolve("01-sample/samples.jsonl");
        List<Jsonl.Line> lines = Jsonl.read(samples);
        assertEquals(12, lines.size());
        assertEquals("p000", lines.get(0).text("problem_id"));
        assertTrue(Files.exists(dir.resolve("02-train/policy.json")));
        assertTrue(Files.readString(dir.resolve("log.txt")).contains("[train] done in"));
        assertTrue(Files.readString(dir.resolve("02-train/log.txt")).contains("starting (fake training"));
        assertEquals(20, Jsonl.read(dir.resolve("02-train/metrics.jsonl")).size());

        StageMarker done = StageMarker.read(dir.resolve("02-train/DONE")).orElseThrow();
        assertEquals("train", done.stage());
        assertEquals(42, done.seed());
        assertEquals(0.1, done.config().get("train").get("beta").asDouble());
        assertEquals(Hashes.of(samples), done.inputs().get("01-sample/samples.jsonl"));
        assertEquals(Hashes.of(dir.resolve("02-train/policy.json")), done.outputs().get("policy.json"));
        assertEquals(StageContext.derive(42, "train", "step:0"), done.seeds().get("step:0"));
        assertEquals("0.36.0", done.versions().get("djl"));
        assertTrue(done.versions().get("pytorch").startsWith("2.7.1"), done.versions().toString());
        assertTrue(done.versions().get("java").startsWith(System.getProperty("java.version")));
        assertEquals("cpu", done.device());
        assertNotNull(done.started());
        assertNotNull(done.finished());
        assertFalse(done.resumed());
        assertEquals(done, new RunDir(dir).done("train").orElseThrow(), "RunDir finds markers by stage name");
    }

    @Test void secondRunSkipsFinishedStagesAndChangesNothing() throws Exception {
        Path dir = tmp.resolve("run");
        run(dir, config(), Set.of(), Set.of());
        String before = Files.readString(dir.resolve("01-sample/samples.jsonl"));
        String doneBefore = Files.readString(dir.resolve("02-train/DONE"));
        assertEquals(List.of(Pipeline.Status.SKIPPED, Pipeline.Status.SKIPPED), statuses(run(dir, config(), Set.of(), Set.of())));
        assertEquals(before, Files.readString(dir.resolve("01-sample/samples.jsonl")));
        assertEquals(doneBefore, Files.readString(dir.resolve("02-train/DONE")));
    }

    @Test void changedConfigForFinishedStageIsRefusedBeforeAnythingRuns() throws Exception {
        Path dir = tmp.resolve("run");
        run(dir, config(), Set.of(), Set.of());
        String configBefore = Files.readString(dir.resolve("config.yaml"));

        CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config("sample.n=3"), Set.of(), Set.of()));
        assertTrue(e.getMessage().contains("stage sample finished in 01-sample/ with a different config (sample.n: 2 -> 3)"), e.getMessage());
        assertTrue(e.getMessage().contains("use a new --run-dir, or re-run with --force sample"), e.getMessage());
        assertEquals(configBefore, Files.readString(dir.resolve("config.yaml")), "config.yaml untouched after a refusal");

        // A key only the later stage reads: the earlier stage still matches, the later one is refused.
        e = assertThrows(CtlabException.class, () -> run(dir, config("train.beta=0.2"), Set.of(), Set.of()));
        assertTrue(e.getMessage().contains("stage train finished in 02-train/ with a different config (train.beta: 0.1 -> 0.2)"),
                e.getMessage());
        // Keys no stage reads (here eval.*) change nothing.
        assertEquals(List.of(Pipeline.Status.SKIPPED, Pipeline.Status.SKIPPED),
                statuses(run(dir, config("eval.problems=5"), Set.of(), Set.of())));
    }

    @Test void forceReRunsAStageAndDownstreamIsCheckedAgainstItsNewOutput() throws Exception {
        Path dir = tmp.resolve("run");
        run(dir, config(), Set.of(), Set.of());
        String policy = Files.readString(dir.resolve("02-train/policy.json"));

        // Same config: forced sample reproduces the same bytes, so train's input hash still matches.
        assertEquals(List.of(Pipeline.Status.RAN, Pipeline.Status.SKIPPED), statuses(run(dir, config(), Set.of(), Set.of("sample"))));

        // New config for sample: its output changes, and the finished train stage refuses the new input.
        CtlabException e = assertThrows(CtlabException.class,
                () -> run(dir, config("sample.n=3"), Set.of(), Set.of("sample")));
        assertTrue(e.getMessage().contains("stage train finished in 02-train/ with a different 01-sample/samples.jsonl"), e.getMessage());
        assertTrue(e.getMessage().contains("--force train"), e.getMessage());

        assertEquals(List.of(Pipeline.Status.SKIPPED, Pipeline.Status.RAN),
                statuses(run(dir, config("sample.n=3"), Set.of(), Set.of("train"))));
        assertNotEquals(policy, Files.readString(dir.resolve("02-train/policy.json")));
        assertEquals(List.of(Pipeline.Status.RAN, Pipeline.Status.RAN),
                statuses(run(dir, config(), Set.of(), Set.of("all"))));
        assertEquals(policy, Files.readString(dir.resolve("02-train/policy.json")), "forced re-run reproduces the first run");
    }

    @Test void changedExternalInputIsRefused() throws Exception {
        Path data = tmp.resolve("train.jsonl");
        Files.writeString(data, "{\"q\": 1}\n");
        Path dir = tmp.resolve("run");
        run(dir, config("data.train=" + data), Set.of(), Set.of());
        Files.writeString(data, "{\"q\": 2}\n");
        CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config("data.train=" + data), Set.of(), Set.of()));
        assertTrue(e.getMessage().contains("stage sample finished in 01-sample/ with a different " + data), e.getMessage());
    }

    @Test void onlyRunsTheNamedStageAndNeedsItsInputsDone() throws Exception {
        Path dir = tmp.resolve("run");
        CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config(), Set.of("train"), Set.of()));
        assertTrue(e.getMessage().contains("stage train needs 01-sample/samples.jsonl from stage sample, which has not finished"),
                e.getMessage());
        assertEquals(List.of(Pipeline.Status.RAN), statuses(run(dir, config(), Set.of("sample"), Set.of())));
        assertFalse(Files.exists(dir.resolve("02-train")));
        assertEquals(List.of(Pipeline.Status.RAN), statuses(run(dir, config(), Set.of("train"), Set.of())));

        e = assertThrows(CtlabException.class, () -> run(dir, config(), Set.of("trian"), Set.of()));
        assertTrue(e.getMessage().contains("unknown stage 'trian' (did you mean train? stages: sample, train)"), e.getMessage());
        e = assertThrows(CtlabException.class, () -> run(dir, config(), Set.of(), Set.of("sampel")));
        assertTrue(e.getMessage().contains("did you mean sample?"), e.getMessage());
    }

    @Test void interruptionStopsCleanlyAndTheNextRunResumesToTheSameBytes() throws Exception {
        Path clean = tmp.resolve("clean");
        run(clean, config(), Set.of(), Set.of());

        Path dir = tmp.resolve("cut");
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        System.setProperty("ctlab.fake.delay.ms", "20");
        try {
            Thread t = new Thread(() -> {
                try {
                    run(dir, config(), Set.of(), Set.of());
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            t.start();
            Path samples = dir.resolve("01-sample/samples.jsonl");
            long deadline = System.nanoTime() + 20_000_000_000L;
            while ((!Files.exists(samples) || Files.readAllLines(samples).size() < 4) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            t.interrupt();
            t.join(20_000);
            assertFalse(t.isAlive());
        } finally {
            System.clearProperty("ctlab.fake.delay.ms");
        }
        assertInstanceOf(RunInterrupted.class, thrown.get(), String.valueOf(thrown.get()));
        assertFalse(Files.exists(dir.resolve("01-sample/DONE")));
        assertTrue(Files.exists(dir.resolve("01-sample/STARTED")));
        int partial = Jsonl.readLenient(dir.resolve("01-sample/samples.jsonl")).size();
        assertTrue(partial >= 4 && partial < 12, "partial records: " + partial);
        assertTrue(Files.readString(dir.resolve("01-sample/log.txt")).contains("interrupted; partial outputs kept"));

        assertEquals(List.of(Pipeline.Status.RESUMED, Pipeline.Status.RAN), statuses(run(dir, config(), Set.of(), Set.of())));
        assertEquals(Files.readString(clean.resolve("01-sample/samples.jsonl")), Files.readString(dir.resolve("01-sample/samples.jsonl")));
        assertEquals(Files.readString(clean.resolve("02-train/policy.json")), Files.readString(dir.resolve("02-train/policy.json")));
        assertTrue(StageMarker.read(dir.resolve("01-sample/DONE")).orElseThrow().resumed());
        JsonNode m = Jsonl.read(dir.resolve("01-sample/metrics.jsonl")).get(0).json();
        assertEquals(partial, m.get("resumed_from").asInt());
    }

    @Test void changedConfigForAStartedStageIsRefused() throws Exception {
        Path dir = tmp.resolve("run");
        Files.createDirectories(dir.resolve("01-sample"));
        run(dir, config(), Set.of("sample"), Set.of());
        Files.delete(dir.resolve("01-sample/DONE"));       // as if killed before the marker
        CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config("sample.n=5"), Set.of(), Set.of()));
        assertTrue(e.getMessage().contains("stage sample was started in 01-sample/ with a different config (sample.n: 2 -> 5)"),
                e.getMessage());
    }

    @Test void cdpoStagesInOrder() {
        Pipeline cdpo = new Pipeline(Stages.cdpo());
        assertEquals(List.of("sample", "select", "train-pos", "train-neg", "score-ce", "rollout", "train", "eval"),
                cdpo.stages().stream().map(Stage::name).toList());
        assertEquals("05-score-ce", cdpo.folderName("score-ce"));
    }

    @Test void stageDeclarationsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new Pipeline(List.of(new FakeStages.Sample(), new FakeStages.Sample())));
        List<Stage> backwards = new ArrayList<>(List.of(new FakeStages.Train(), new FakeStages.Sample()));
        Pipeline p = new Pipeline(backwards);
        assertThrows(IllegalStateException.class, () -> p.run(config(), tmp.resolve("b"), Pipeline.Options.defaults()));
    }

    @Test void aRunDirectoryIsUsedByOneRunAtATime() throws Exception {
        Path dir = tmp.resolve("run");
        try (AutoCloseable held = new RunDir(dir).lock()) {
            CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config(), Set.of(), Set.of()));
            assertTrue(e.getMessage().contains("the run directory is in use by another ctlab run"), e.getMessage());
        }
        assertEquals(List.of(Pipeline.Status.RAN, Pipeline.Status.RAN), statuses(run(dir, config(), Set.of(), Set.of())));
    }

    @Test void aDoneStageWhoseOutputVanishedIsNotSkippedSilently() throws Exception {
        Path dir = tmp.resolve("run");
        run(dir, config(), Set.of(), Set.of());
        Files.delete(dir.resolve("02-train/policy.json"));
        CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config(), Set.of(), Set.of()));
        assertTrue(e.getMessage().contains("stage train is marked done but 02-train/policy.json is missing; re-run with --force train"),
                e.getMessage());
    }

    @Test void fileHashesAreCachedAcrossRunsAndRewritesAreNoticed() throws Exception {
        Path data = tmp.resolve("train.jsonl");
        Files.writeString(data, "{\"q\": 1}\n");
        Path dir = tmp.resolve("run");
        run(dir, config("data.train=" + data), Set.of(), Set.of());
        JsonNode cache = Jsonl.MAPPER.readTree(dir.resolve(".hashes.json").toFile());
        String abs = data.toAbsolutePath().normalize().toString();
        boolean found = false;
        for (JsonNode e : cache) found |= e.get("path").asText().equals(abs) && e.get("sha256").asText().equals(Hashes.of(data));
        assertTrue(found, cache.toPrettyString());
        // Same size, rewritten at once: the inode/mtime key still tells the new content apart.
        ctlab.io.AtomicFiles.writeString(data, "{\"q\": 2}\n");
        assertEquals(Hashes.sha256("{\"q\": 2}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)), Hashes.of(data));
    }

    // issue #10: outputs edited after DONE were used as they were, and the downstream DONE recorded the old hash
    @Test void anOutputEditedAfterDoneIsRefusedWhenSkippedAndWhenConsumed() throws Exception {
        Path dir = tmp.resolve("run");
        run(dir, config(), Set.of("sample"), Set.of());
        Path samples = dir.resolve("01-sample/samples.jsonl");
        String text = Files.readString(samples);
        Files.writeString(samples, text.substring(0, text.indexOf('\n') + 1));        // truncated to its first record
        // consumed by a stage that runs: refused before train reads it and records the old hash as its input
        CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config(), Set.of("train"), Set.of()));
        assertTrue(e.getMessage().contains("01-sample/samples.jsonl changed after stage sample finished"), e.getMessage());
        assertTrue(e.getMessage().contains("restore the file, or re-run with --force sample"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("02-train/DONE")));
        // skipped: refused too
        e = assertThrows(CtlabException.class, () -> run(dir, config(), Set.of(), Set.of()));
        assertTrue(e.getMessage().contains("01-sample/samples.jsonl changed after stage sample finished"), e.getMessage());

        // restored with a new mtime (like cp -p of a backup or a git checkout): hashed, equal, skipped
        Files.writeString(samples, text);
        Files.setLastModifiedTime(samples, java.nio.file.attribute.FileTime.fromMillis(Files.getLastModifiedTime(samples).toMillis() + 5000));
        assertEquals(List.of(Pipeline.Status.SKIPPED, Pipeline.Status.RAN), statuses(run(dir, config(), Set.of(), Set.of())));
        assertEquals(List.of(Pipeline.Status.SKIPPED, Pipeline.Status.SKIPPED), statuses(run(dir, config(), Set.of(), Set.of())));

        // same size, one byte changed, mtime moved on: the fast path does not trust it
        Path policy = dir.resolve("02-train/policy.json");
        String p = Files.readString(policy);
        int digit = java.util.stream.IntStream.range(0, p.length()).filter(i -> Character.isDigit(p.charAt(i))).findFirst().orElseThrow();
        Files.writeString(policy, p.substring(0, digit) + (char) ('0' + (p.charAt(digit) - '0' + 1) % 10) + p.substring(digit + 1));
        Files.setLastModifiedTime(policy, java.nio.file.attribute.FileTime.fromMillis(Files.getLastModifiedTime(policy).toMillis() + 5000));
        e = assertThrows(CtlabException.class, () -> run(dir, config(), Set.of(), Set.of()));
        assertTrue(e.getMessage().contains("02-train/policy.json changed after stage train finished"), e.getMessage());
        assertTrue(e.getMessage().contains("--force train"), e.getMessage());
    }

    @Test void aDoneWithoutOutputStatsIsCheckedByHash() throws Exception {
        Path dir = tmp.resolve("run");
        run(dir, config(), Set.of("sample"), Set.of());
        Path done = dir.resolve("01-sample/DONE");
        var json = (com.fasterxml.jackson.databind.node.ObjectNode) Jsonl.MAPPER.readTree(done.toFile());
        assertTrue(json.has("output_stats"), json.toPrettyString());
        json.remove("output_stats");                                    // as written by an older ctlab
        Files.writeString(done, json.toPrettyString());
        assertEquals(List.of(Pipeline.Status.SKIPPED), statuses(run(dir, config(), Set.of("sample"), Set.of())));
        Files.writeString(dir.resolve("01-sample/samples.jsonl"), "{\"problem_id\":\"p000\",\"samples\":[]}\n");
        CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config(), Set.of("sample"), Set.of()));
        assertTrue(e.getMessage().contains("01-sample/samples.jsonl changed after stage sample finished"), e.getMessage());
    }

    // issue #10: with DONE and STARTED removed, a stage adopted the old outputs under a new config
    @Test void outputsWithoutMarkersAreNotAdoptedUnderANewConfig() throws Exception {
        Path dir = tmp.resolve("run");
        run(dir, config(), Set.of("sample"), Set.of());
        Files.delete(dir.resolve("01-sample/DONE"));
        Files.delete(dir.resolve("01-sample/STARTED"));
        CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config("sample.n=3"), Set.of("sample"), Set.of()));
        assertTrue(e.getMessage().contains("01-sample/ holds metrics.jsonl, samples.jsonl"), e.getMessage());
        assertTrue(e.getMessage().contains("no STARTED or DONE marker"), e.getMessage());
        assertTrue(e.getMessage().contains("--force sample"), e.getMessage());
        assertEquals(List.of(Pipeline.Status.RAN), statuses(run(dir, config("sample.n=3"), Set.of("sample"), Set.of("sample"))));
        assertEquals(3, Jsonl.read(dir.resolve("01-sample/samples.jsonl")).get(0).json().get("samples").size());
    }

    @Test void resumableRecordsMadeUnderAnotherConfigAreRefused() throws Exception {
        Path other = tmp.resolve("other"), dir = tmp.resolve("run");
        run(other, config(), Set.of("sample"), Set.of());
        run(dir, config("sample.n=3"), Set.of("sample"), Set.of());
        Files.delete(dir.resolve("01-sample/DONE"));                    // a cut-off attempt of n=3 ...
        for (String f : List.of("samples.jsonl", "samples.jsonl.provenance")) {   // ... given the n=2 records of another run
            Files.copy(other.resolve("01-sample").resolve(f), dir.resolve("01-sample").resolve(f),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config("sample.n=3"), Set.of("sample"), Set.of()));
        assertTrue(e.getMessage().contains("samples.jsonl.provenance records a different config or inputs"), e.getMessage());
        assertTrue(e.getMessage().contains("--force sample"), e.getMessage());
        Files.delete(dir.resolve("01-sample/samples.jsonl.provenance"));
        e = assertThrows(CtlabException.class, () -> run(dir, config("sample.n=3"), Set.of("sample"), Set.of()));
        assertTrue(e.getMessage().contains("no samples.jsonl.provenance says which config they were made under"), e.getMessage());
    }

    // issue #10: --force naming a stage that --only leaves out was ignored without a word
    @Test void forceOfAStageOutsideOnlyIsAnError() throws Exception {
        Path dir = tmp.resolve("run");
        run(dir, config(), Set.of(), Set.of());
        String samples = Files.readString(dir.resolve("01-sample/samples.jsonl"));
        CtlabException e = assertThrows(CtlabException.class, () -> run(dir, config(), Set.of("train"), Set.of("sample")));
        assertEquals("--force sample: stage sample is not among the stages to run (--only train); add it to --only or drop --only",
                e.getMessage());
        assertTrue(Files.exists(dir.resolve("01-sample/DONE")), "nothing deleted");
        assertEquals(samples, Files.readString(dir.resolve("01-sample/samples.jsonl")));
        assertEquals(List.of(Pipeline.Status.RAN), statuses(run(dir, config(), Set.of("train"), Set.of("train"))));
        assertEquals(List.of(Pipeline.Status.RAN), statuses(run(dir, config(), Set.of("train"), Set.of("all"))));
    }

    @Test void provenanceOfResumableOutputsDoesNotDependOnFolders() throws Exception {
        // like two demo runs, each with its data regenerated under its own run folder
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        Files.createDirectories(a.resolve("data"));
        Files.createDirectories(b.resolve("data"));
        Files.writeString(a.resolve("data/train.jsonl"), "{\"q\": 1}\n");
        Files.writeString(b.resolve("data/train.jsonl"), "{\"q\": 1}\n");
        run(a, config("data.train=" + a.resolve("data/train.jsonl")), Set.of("sample"), Set.of());
        run(b, config("data.train=" + b.resolve("data/train.jsonl")), Set.of("sample"), Set.of());
        String pa = Files.readString(a.resolve("01-sample/samples.jsonl.provenance"));
        assertEquals(pa, Files.readString(b.resolve("01-sample/samples.jsonl.provenance")));
        assertTrue(pa.contains(Hashes.of(a.resolve("data/train.jsonl"))), pa);
    }
}

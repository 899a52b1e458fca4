package ctlab.run.stage;

import ctlab.data.SftExample;
import ctlab.data.PreferencePair;
import ctlab.data.ProblemSamples;
import ctlab.io.Jsonl;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.run.StageMarker;
import ctlab.task.GradedSample;
import ctlab.task.Prompts;
import ctlab.task.organism.OrganismTask;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The real sample and select stages on the CI-sized organism model. */
class SampleSelectStageTest {
    static final String SAMPLE = "sample: {problems: 6, n: 4, temperature: 1.0, max_new_tokens: 48, few_shot: false, batch_size: 4}\n";

    @TempDir Path tmp;

    @org.junit.jupiter.api.BeforeAll static void oneThread() { OrganismFixture.oneThread(); }

    @org.junit.jupiter.api.AfterAll static void restoreThreads() { OrganismFixture.restoreThreads(); }

    static List<Pipeline.Outcome> run(RunConfig c, Path dir, String... only) {
        return Stages.pipeline().run(c, dir, new Pipeline.Options(Set.of(only), Set.of(), null));
    }

    @Test void sampleWritesOneRecordPerProblemWithStableIdsAndIsReproducible() throws Exception {
        RunConfig c = OrganismFixture.config(SAMPLE);
        run(c, tmp.resolve("a"), "sample");
        Path file = tmp.resolve("a/01-sample/samples.jsonl");
        List<ProblemSamples> recs = Jsonl.read(file, ProblemSamples.class);
        List<ctlab.task.Problem> problems = OrganismTask.INSTANCE.load(TaskData.trainFile(c)).subList(0, 6);
        assertEquals(6, recs.size());
        for (int i = 0; i < 6; i++) {
            ProblemSamples ps = recs.get(i);
            assertEquals(problems.get(i).id(), ps.problemId());
            assertEquals(Prompts.gsm8k(problems.get(i).question()), ps.prompt(), "zero-shot official prompt");
            assertEquals(problems.get(i).answer(), ps.reference());
            assertEquals(4, ps.samples().size());
            for (int j = 0; j < 4; j++) {
                ProblemSamples.Sample s = ps.samples().get(j);
                assertEquals(ps.problemId() + "#" + j, s.sampleId());
                assertEquals(j, s.sampleIndex());
                assertEquals(s.numTokens(), s.tokenIds().length);
                assertTrue(s.numTokens() >= 1 && s.numTokens() <= 48);
                assertTrue(s.cumulativeLogprob() <= 0);
            }
        }
        Set<String> texts = new HashSet<>();
        recs.forEach(r -> r.samples().forEach(s -> texts.add(s.text())));
        assertTrue(texts.size() > 6, "temperature 1 gives varied samples: " + texts.size());
        assertTrue(StageMarker.read(tmp.resolve("a/01-sample/DONE")).isPresent());
        assertFalse(Jsonl.read(tmp.resolve("a/01-sample/metrics.jsonl")).isEmpty());

        // same config and seed into another run dir: the same bytes
        run(c, tmp.resolve("b"), "sample");
        assertEquals(Files.readString(file), Files.readString(tmp.resolve("b/01-sample/samples.jsonl")));

        // another seed: other samples
        RunConfig other = RunConfig.parse(OrganismFixture.yaml(SAMPLE).replace("seed: 3", "seed: 4"), "t", List.of());
        run(other, tmp.resolve("c"), "sample");
        assertNotEquals(Files.readString(file), Files.readString(tmp.resolve("c/01-sample/samples.jsonl")));
    }

    @Test void sampleResumesACutOffFileToTheSameBytes() throws Exception {
        RunConfig c = OrganismFixture.config(SAMPLE);
        run(c, tmp.resolve("full"), "sample");
        String full = Files.readString(tmp.resolve("full/01-sample/samples.jsonl"));

        // a run cut off after problem 2 of chunk [0, 4) with a torn third line and no DONE marker
        Path cut = tmp.resolve("cut");
        run(c, cut, "sample");
        Path file = cut.resolve("01-sample/samples.jsonl");
        List<String> lines = full.lines().toList();
        Files.writeString(file, lines.get(0) + "\n" + lines.get(1) + "\n" + lines.get(2).substring(0, 40));
        Files.delete(cut.resolve("01-sample/DONE"));
        List<Pipeline.Outcome> o = run(c, cut, "sample");
        assertEquals(Pipeline.Status.RESUMED, o.get(0).status());
        assertEquals(full, Files.readString(file), "no lost, duplicated or different records");
    }

    @Test void selectGradesAndWritesSftDataAndPairs() throws Exception {
        RunConfig c = OrganismFixture.config(SAMPLE.replace("problems: 6", "problems: 8").replace("n: 4", "n: 8"));
        Path dir = tmp.resolve("run");
        run(c, dir, "sample", "select");
        Path sel = dir.resolve("02-select");
        List<ProblemSamples> samples = Jsonl.read(dir.resolve("01-sample/samples.jsonl"), ProblemSamples.class);
        List<GradedSample> graded = Jsonl.read(sel.resolve("graded.jsonl")).stream()
                .map(l -> Jsonl.MAPPER.convertValue(l.json(), GradedSample.class)).toList();
        assertEquals(64, graded.size());
        int k = 0;
        for (ProblemSamples ps : samples) {
            for (ProblemSamples.Sample s : ps.samples()) {
                GradedSample g = graded.get(k++);
                assertEquals(s.sampleId(), g.sampleId());
                assertEquals(s.text(), g.response());
                String extracted = OrganismTask.INSTANCE.extractAnswer(s.text());
                assertEquals(extracted, g.answer());
                assertEquals(extracted != null && Long.parseLong(extracted.replace(",", "")) == Long.parseLong(ps.reference()),
                        g.correct(), s.text());
            }
        }
        List<SftExample> pos = Jsonl.read(sel.resolve("sft-pos.jsonl"), SftExample.class);
        List<SftExample> neg = Jsonl.read(sel.resolve("sft-neg.jsonl"), SftExample.class);
        List<PreferencePair> pairs = Jsonl.read(sel.resolve("pairs.jsonl"), PreferencePair.class);
        assertTrue(pos.stream().allMatch(SftExample::correct));
        assertTrue(neg.stream().noneMatch(SftExample::correct));
        long problemsWithCorrect = samples.stream().filter(ps -> graded.stream()
                .anyMatch(g -> g.problemId().equals(ps.problemId()) && g.correct())).count();
        assertEquals(problemsWithCorrect, pos.size(), "one SFT-positive per problem with a correct answer (top-k 1)");
        for (PreferencePair p : pairs) {
            ProblemSamples ps = samples.stream().filter(s -> s.problemId().equals(p.problemId())).findFirst().orElseThrow();
            assertEquals(ps.prompt(), p.prompt());
            assertEquals(ps.reference(), p.reference());
            assertNotEquals(p.chosenAnswer(), p.rejectedAnswer());
            assertTrue(p.chosen().contains(p.chosenAnswer()) && p.rejected().contains(p.rejectedAnswer()));
        }
        var metrics = Jsonl.read(sel.resolve("metrics.jsonl")).get(0).json();
        assertEquals(64, metrics.get("samples").asInt());
        assertEquals(pairs.size(), metrics.get("pairs").asInt());
        assertEquals(graded.stream().filter(GradedSample::correct).count(), metrics.get("correct").asLong());
    }

    @Test void selectFollowsTheOfficialFrequencyRulesOnHandWrittenSamples() {
        ProblemSamples ps = new ProblemSamples("p1", "Question: q\nAnswer: ", new int[] {1, 2, 3, 4, 5}, "7", 0, List.of(
                s("p1", 0, "so 3. The answer is 3."), s("p1", 1, "The answer is 7."), s("p1", 2, "The answer is 3."),
                s("p1", 3, "no idea"), s("p1", 4, "The answer is 7."), s("p1", 5, "The answer is 5."),
                s("p1", 6, "The answer is 3."), s("p1", 7, "The answer is 5."), s("p1", 8, "The answer is 9."), s("p1", 9, "hmm")));
        RunConfig.Select cfg = new RunConfig.Select(1, 0.5, 1, true);
        SelectStage.Selected out = SelectStage.select(OrganismTask.INSTANCE, List.of(ps), cfg);
        assertEquals(10, out.graded().size());
        assertNull(out.graded().get(3).answer());
        assertEquals(List.of("p1#1"), out.sftPositive().stream().map(SftExample::sampleId).toList());
        // 6 incorrect answered samples: 3 (x3) covers ceil(0.5*6)=3 on its own
        assertEquals(List.of("p1#0"), out.sftNegative().stream().map(SftExample::sampleId).toList());
        assertEquals(1, out.pairs().size());
        PreferencePair p = out.pairs().get(0);
        assertEquals("p1/0", p.pairId());
        assertEquals("p1#1", p.chosenSampleId());
        assertEquals("p1#0", p.rejectedSampleId());
        assertEquals("7", p.chosenAnswer());
        assertEquals("3", p.rejectedAnswer());
        // the pair carries the sampled ids (response ids without the EOS), not the texts re-encoded
        assertArrayEquals(new int[] {1, 2, 3, 4, 5}, p.promptIds());
        assertArrayEquals(new int[] {11}, p.chosenIds());
        assertArrayEquals(new int[] {10}, p.rejectedIds());
        assertArrayEquals(new int[] {11}, out.sftPositive().get(0).responseIds());
        assertEquals(2, ((Number) out.counts().get("skipped_no_answer")).intValue());

        // keeping unanswered samples: they form one more incorrect group (of 2, so top-p takes it)
        SelectStage.Selected kept = SelectStage.select(OrganismTask.INSTANCE, List.of(ps), new RunConfig.Select(1, 1.0, 1, false));
        assertTrue(kept.sftNegative().stream().anyMatch(e -> SelectStage.NO_ANSWER.equals(e.answer())));
    }

    static ProblemSamples.Sample s(String pid, int j, String text) {
        return new ProblemSamples.Sample(ProblemSamples.sampleId(pid, j), j, text, ctlab.sample.Sampler.FinishReason.EOS,
                2, -1.0, new int[] {10 + j, 2}, new int[] {10 + j});
    }
}

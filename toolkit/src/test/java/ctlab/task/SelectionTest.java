package ctlab.task;

import ctlab.CtlabException;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelectionTest {

    /** Builds samples of problem "p" from "answer:correct" specs; ids s0, s1, ... in order; "-" = no answer. */
    static List<GradedSample> samples(String... specs) {
        List<GradedSample> out = new ArrayList<>();
        for (int i = 0; i < specs.length; i++) {
            String[] parts = specs[i].split(":", -1);
            String answer = parts[0].equals("-") ? null : parts[0];
            boolean correct = parts.length > 1 && parts[1].equals("T");
            out.add(new GradedSample("p", "s" + i, "response " + i, answer, correct));
        }
        return out;
    }

    static List<String> ids(List<GradedSample> s) { return s.stream().map(GradedSample::sampleId).toList(); }

    static Selection.ProblemSelection official(List<GradedSample> s) {
        return Selection.selectProblem("p", s, Selection.Config.official());
    }

    @Test void officialDocstringExampleTopPHalfTakesTheTwoCommonWrongAnswers() {
        // 10 incorrect: a×3, b×2, c..g once each → top-p 0.5 covers 5 samples with one sample of a and one of b
        var r = official(samples("c", "a", "b", "a", "d", "e", "b", "a", "f", "g"));
        assertEquals(List.of("s1", "s2"), ids(r.sftNegative()));
        assertTrue(r.sftPositive().isEmpty());
        assertTrue(r.pairs().isEmpty(), "no correct answer, no pair");
    }

    @Test void positiveAndPairUseMostFrequentAnswers() {
        var r = official(samples("7:T", "5", "7:T", "5", "9", "7:T", "8:T", "5"));
        assertEquals(List.of("s0"), ids(r.sftPositive()));
        assertEquals(1, r.pairs().size());
        assertEquals("s0", r.pairs().get(0).chosen().sampleId(), "chosen = the SFT-positive sample, as officially");
        assertEquals("s1", r.pairs().get(0).rejected().sampleId());
        // incorrect: 5×3, 9×1 → target ⌈0.5·4⌉ = 2, group 5 alone covers it
        assertEquals(List.of("s1"), ids(r.sftNegative()));
        assertEquals(List.of(3, 3, 1, 1), r.groups().stream().map(Selection.AnswerGroup::count).toList());
    }

    @Test void singletonGroupsAfterTheFirstAreNotTaken() {
        // incorrect: a×2, b, c, d → target ⌈0.5·5⌉ = 3; a covers 2, singletons b, c, d are skipped officially
        List<GradedSample> s = samples("a", "b", "a", "c", "d");
        assertEquals(List.of("s0"), ids(official(s).sftNegative()));
        var lenient = new Selection.Config(Selection.Rule.topK(1), Selection.Rule.topP(0.5), 1, true);
        assertEquals(List.of("s0", "s1"), ids(Selection.selectProblem("p", s, lenient).sftNegative()));
        // all singletons: the first group is always taken
        assertEquals(List.of("s0"), ids(official(samples("x", "y", "z")).sftNegative()));
    }

    @Test void topPStopsOnceCovered() {
        // incorrect: a×4, b×3, c×2 (9) → p 0.5 → target 5: a (4) then b (7) → stop before c
        List<GradedSample> s = samples("a", "a", "b", "a", "b", "c", "a", "b", "c");
        assertEquals(List.of("s0", "s2"), ids(official(s).sftNegative()));
        var all = new Selection.Config(Selection.Rule.topK(1), Selection.Rule.topP(1.0), 1, false);
        assertEquals(List.of("s0", "s2", "s5"), ids(Selection.selectProblem("p", s, all).sftNegative()));
    }

    @Test void tiesBreakByFirstAppearanceAndRepresentativeIsFirstSample() {
        var r = official(samples("b", "a:T", "a:T", "c", "c", "b", "d:T", "d:T"));
        // wrong b and c both ×2: b appears first; correct a and d both ×2: a appears first
        assertEquals("s0", r.pairs().get(0).rejected().sampleId());
        assertEquals("s1", r.pairs().get(0).chosen().sampleId());
        assertEquals(r, official(samples("b", "a:T", "a:T", "c", "c", "b", "d:T", "d:T")), "deterministic");
    }

    @Test void samplesWithoutAnswerAreSkipped() {
        var r = official(samples("-", "-", "-", "4:T", "3", ":"));
        assertEquals(4, r.skippedNoAnswer(), "null and empty answers");
        assertEquals(2, r.groups().size());
        assertNull(new GradedSample("p", "x", "r", "", false).answer());
    }

    @Test void moreKnobs() {
        List<GradedSample> s = samples("1:T", "1:T", "2:T", "3", "3", "4", "4", "5");
        var cfg = new Selection.Config(Selection.Rule.topK(2), Selection.Rule.topK(3), 2, false);
        var r = Selection.selectProblem("p", s, cfg);
        assertEquals(List.of("s0", "s2"), ids(r.sftPositive()));
        assertEquals(List.of("s3", "s5", "s7"), ids(r.sftNegative()));
        assertEquals(2, r.pairs().size());
        assertEquals("s2", r.pairs().get(1).chosen().sampleId());
        assertEquals("s5", r.pairs().get(1).rejected().sampleId());
    }

    @Test void manyProblemsKeepInputOrder() {
        List<GradedSample> s = new ArrayList<>();
        s.add(new GradedSample("q2", "a", "r", "1", true));
        s.add(new GradedSample("q1", "a", "r", "2", false));
        s.add(new GradedSample("q2", "b", "r", "3", false));
        var r = Selection.select(s, Selection.Config.official());
        assertEquals(List.of("q2", "q1"), r.problems().stream().map(Selection.ProblemSelection::problemId).toList());
        assertEquals(1, r.pairs().size());
        assertEquals(2, r.sftNegative().size());
    }

    @Test void badInputAndKnobsAreUserErrors() {
        assertThrows(CtlabException.class, () -> official(List.of(
                new GradedSample("p", "s", "r", "1", true), new GradedSample("p", "s", "r", "2", true))));
        assertThrows(CtlabException.class, () -> new Selection.Rule(1, 0.5));
        assertThrows(CtlabException.class, () -> new Selection.Rule(null, null));
        assertThrows(CtlabException.class, () -> Selection.Rule.topP(0));
        assertThrows(CtlabException.class, () -> Selection.Rule.topK(0));
        assertThrows(CtlabException.class, () -> new Selection.Config(Selection.Rule.topK(1), Selection.Rule.topP(0.5), -1, false));
    }

    @Test void configSectionsReadWithDefaultsAndNamedErrors() throws Exception {
        var yaml = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
        var c = Selection.Config.fromJson(yaml.readTree("sft_negative: {top_k: 3}\ndpo_pairs: 2\n"), "run.yaml: select");
        assertEquals(new Selection.Config(Selection.Rule.topK(1), Selection.Rule.topK(3), 2, false), c);
        assertEquals(c, Selection.Config.fromJson(c.toJson(), "round trip"));
        assertEquals(Selection.Config.official(), Selection.Config.fromJson(yaml.readTree("{}"), "x"));
        String msg = assertThrows(CtlabException.class, () -> Selection.Config.fromJson(
                yaml.readTree("sft_negative: {top_p: 0.5, top_k: 2}"), "run.yaml: select")).getMessage();
        assertTrue(msg.startsWith("run.yaml: select.sft_negative: ") && msg.contains("exactly one"), msg);
        msg = assertThrows(CtlabException.class, () -> Selection.Config.fromJson(
                yaml.readTree("sft_negative: {top_p: 1.5}"), "run.yaml: select")).getMessage();
        assertTrue(msg.contains("select.sft_negative") && msg.contains("'top_p'"), msg);
        msg = assertThrows(CtlabException.class, () -> Selection.Config.fromJson(
                yaml.readTree("dpo_pair: 1"), "run.yaml: select")).getMessage();
        assertTrue(msg.startsWith("run.yaml: select: unknown key 'dpo_pair'"), msg);
        msg = assertThrows(CtlabException.class, () -> Selection.Config.fromJson(
                yaml.readTree("dpo_pairs: -1"), "run.yaml: select")).getMessage();
        assertTrue(msg.startsWith("run.yaml: select: ") && msg.contains("'dpo_pairs'"), msg);
    }

    @Test void gradedSampleJsonUsesSnakeCaseIds() throws Exception {
        GradedSample s = new GradedSample("p1", "p1-3", "text", "42", true);
        String json = Jsonl.toLine(s);
        assertTrue(json.contains("\"problem_id\":\"p1\"") && json.contains("\"sample_id\":\"p1-3\""), json);
        assertEquals(s, Jsonl.MAPPER.readValue(json, GradedSample.class));
    }
}

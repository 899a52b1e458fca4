package ctlab.run.stage;

import ctlab.data.PreferencePair;
import ctlab.data.ProblemSamples;
import ctlab.data.SftExample;
import ctlab.io.Jsonl;
import ctlab.io.Progress;
import ctlab.run.RunConfig;
import ctlab.run.Stage;
import ctlab.run.StageContext;
import ctlab.task.Grade;
import ctlab.task.GradedSample;
import ctlab.task.Grader;
import ctlab.task.Selection;
import ctlab.task.Task;
import ctlab.tasks.Tasks;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stage {@code select}: grade every sample with the task's grader ({@code graded.jsonl}, one {@link GradedSample}
 * per sample), then the official answer-frequency {@link Selection} → {@code sft-pos.jsonl}, {@code sft-neg.jsonl}
 * ({@link SftExample}) and {@code pairs.jsonl} ({@link PreferencePair}), with counts in {@code metrics.jsonl}.
 * Grading is cheap next to sampling, so the stage writes whole files (atomically) and simply re-runs when cut off.
 *
 * <p>{@code select.skip_unextracted: false} keeps samples without an extractable answer as one incorrect answer
 * group ({@link #NO_ANSWER}); the official code (and the default) skips them.
 */
public final class SelectStage implements Stage {
    public static final String GRADED = "graded.jsonl", SFT_POS = "sft-pos.jsonl", SFT_NEG = "sft-neg.jsonl",
            PAIRS = "pairs.jsonl";
    /** The answer given to samples without one when they are not skipped. */
    public static final String NO_ANSWER = "[no answer]";

    @Override public String name() { return "select"; }

    @Override public String description() {
        return "grade samples, select SFT-positive/negative data and DPO pairs by answer frequency";
    }

    @Override public List<String> configKeys() { return List.of("task", "select"); }

    @Override public List<Input> inputs(RunConfig c) { return List.of(Input.fromStage("sample", SampleStage.SAMPLES)); }

    @Override public List<String> outputs() { return List.of(GRADED, SFT_POS, SFT_NEG, PAIRS); }

    /** Grades, selects and builds the files' records. */
    public record Selected(List<GradedSample> graded, List<SftExample> sftPositive, List<SftExample> sftNegative,
                           List<PreferencePair> pairs, Map<String, Object> counts) {}

    /** The selection knobs of a config section. */
    public static Selection.Config selectionConfig(RunConfig.Select s) {
        return new Selection.Config(Selection.Rule.topK(s.posTopK()), Selection.Rule.topP(s.negTopP()),
                s.pairsPerProblem(), false);
    }

    /** Grades every sample of {@code problems} against its reference. */
    public static List<GradedSample> grade(Task task, List<ProblemSamples> problems) {
        List<GradedSample> out = new ArrayList<>();
        try (Progress bar = Progress.start("grade", problems.size())) {
            for (ProblemSamples ps : problems) {
                for (ProblemSamples.Sample s : ps.samples()) {
                    Grade g = Grader.grade(task, ps.reference(), s.text());
                    out.add(new GradedSample(ps.problemId(), s.sampleId(), s.text(), g.extracted(), g.equal()));
                }
                bar.step("");
            }
        }
        return out;
    }

    /** Grades and selects (the notebook entry point). */
    public static Selected select(Task task, List<ProblemSamples> problems, RunConfig.Select cfg) {
        List<GradedSample> graded = grade(task, problems);
        List<GradedSample> forSelection = cfg.skipUnextracted() ? graded : graded.stream()
                .map(g -> g.hasAnswer() ? g : new GradedSample(g.problemId(), g.sampleId(), g.response(), NO_ANSWER, false))
                .toList();
        Selection.Result sel = Selection.select(forSelection, selectionConfig(cfg));

        Map<String, ProblemSamples> byId = new HashMap<>();
        for (ProblemSamples ps : problems) byId.put(ps.problemId(), ps);
        List<SftExample> pos = new ArrayList<>(), neg = new ArrayList<>();
        List<PreferencePair> pairs = new ArrayList<>();
        int withPairs = 0, allCorrect = 0, allWrong = 0, skipped = 0;
        for (Selection.ProblemSelection p : sel.problems()) {
            ProblemSamples ps = byId.get(p.problemId());
            for (GradedSample g : p.sftPositive()) pos.add(sft(ps, g));
            for (GradedSample g : p.sftNegative()) neg.add(sft(ps, g));
            for (int i = 0; i < p.pairs().size(); i++) {
                Selection.Pair pr = p.pairs().get(i);
                pairs.add(new PreferencePair(p.problemId() + "/" + i, p.problemId(), ps.prompt(), pr.chosen().response(),
                        pr.rejected().response(), pr.chosen().answer(), pr.rejected().answer(), ps.reference(),
                        pr.chosen().sampleId(), pr.rejected().sampleId(), ps.promptIds(),
                        sample(ps, pr.chosen()).responseIds(), sample(ps, pr.rejected()).responseIds(),
                        sample(ps, pr.rejected()).planted()));
            }
            if (!p.pairs().isEmpty()) withPairs++;
            boolean anyCorrect = p.groups().stream().anyMatch(Selection.AnswerGroup::correct);
            boolean anyWrong = p.groups().stream().anyMatch(g -> !g.correct());
            if (anyCorrect && !anyWrong) allCorrect++;
            if (!anyCorrect) allWrong++;
            skipped += p.skippedNoAnswer();
        }
        long correct = graded.stream().filter(GradedSample::correct).count();
        long answered = graded.stream().filter(GradedSample::hasAnswer).count();
        Map<String, Object> counts = new LinkedHashMap<>();
        counts.put("problems", problems.size());
        counts.put("samples", graded.size());
        counts.put("answered", answered);
        counts.put("correct", correct);
        counts.put("sample_accuracy", graded.isEmpty() ? 0.0 : (double) correct / graded.size());
        counts.put("skipped_no_answer", skipped);
        counts.put("problems_all_correct", allCorrect);
        counts.put("problems_none_correct", allWrong);
        counts.put("problems_with_pairs", withPairs);
        counts.put("sft_pos", pos.size());
        counts.put("sft_neg", neg.size());
        counts.put("pairs", pairs.size());
        return new Selected(graded, pos, neg, pairs, counts);
    }

    private static SftExample sft(ProblemSamples ps, GradedSample g) {
        return new SftExample(ps.problemId(), g.sampleId(), ps.prompt(), g.response(), g.answer(), g.correct(),
                ps.promptIds(), sample(ps, g).responseIds());
    }

    /** The sampled record behind a graded sample: its ids are carried on, never re-encoded from the text. */
    private static ProblemSamples.Sample sample(ProblemSamples ps, GradedSample g) {
        ProblemSamples.Sample s = ps.sample(g.sampleId());
        if (s == null) throw new IllegalStateException("graded sample " + g.sampleId() + " is not in problem " + ps.problemId());
        return s;
    }

    @Override public void run(StageContext ctx) {
        RunConfig c = ctx.config();
        List<ProblemSamples> problems = Jsonl.read(ctx.input("sample", SampleStage.SAMPLES), ProblemSamples.class);
        Selected s = select(Tasks.named(c.task()), problems, c.select());
        ctx.checkInterrupted();
        Jsonl.writeAll(ctx.file(GRADED), s.graded());
        Jsonl.writeAll(ctx.file(SFT_POS), s.sftPositive());
        Jsonl.writeAll(ctx.file(SFT_NEG), s.sftNegative());
        Jsonl.writeAll(ctx.file(PAIRS), s.pairs());
        ctx.metrics(s.counts());
        ctx.log(s.counts().toString());
        if (s.pairs().isEmpty()) {
            ctx.log("warning: no DPO pairs (no problem has both a correct and an incorrect answer); raise sample.n or "
                    + "sample.temperature");
        }
    }
}

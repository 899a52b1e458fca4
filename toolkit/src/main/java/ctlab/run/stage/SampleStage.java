package ctlab.run.stage;

import ctlab.data.ProblemSamples;
import ctlab.io.Jsonl;
import ctlab.io.Progress;
import ctlab.model.LlamaModel;
import ctlab.run.ResumableJsonl;
import ctlab.run.RunConfig;
import ctlab.run.Stage;
import ctlab.run.StageContext;
import ctlab.sample.Generator;
import ctlab.sample.Sampler;
import ctlab.sample.SamplingParams;
import ctlab.task.Problem;
import ctlab.task.Prompts;
import ctlab.task.Task;
import ctlab.tasks.Tasks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Stage {@code sample}: {@code sample.n} responses to each of the first {@code sample.problems} training problems →
 * {@code samples.jsonl}, one {@link ProblemSamples} line per problem, appended as each batch of problems finishes.
 *
 * <p>Resumption reproduces the same bytes: problems are cut into fixed chunks of {@code sample.batch_size}
 * (chunk i = problems [i·B, (i+1)·B) of the problem list), and a chunk with any problem missing is sampled again
 * as a whole, so every sample is computed in the same batch as in an uninterrupted run; then only the missing
 * problems are appended. Each sample's RNG is seeded from (root seed, problem id, sample index).
 */
public final class SampleStage implements Stage {
    public static final String SAMPLES = "samples.jsonl";

    @Override public String name() { return "sample"; }

    @Override public String description() { return "sample n responses per training problem (batched, seeded, stop strings)"; }

    @Override public List<String> configKeys() { return List.of("seed", "task", "sample"); }

    @Override public List<Input> inputs(RunConfig c) {
        return List.of(Input.external(c.model()), Input.external(TaskData.trainFile(c).toString()));
    }

    @Override public List<String> outputs() { return List.of(SAMPLES); }

    /** The sampling parameters of a config: its knobs, the task's stop strings unless given, and {@code seed}. */
    public static SamplingParams params(RunConfig.Sample s, Task task, long seed) {
        List<String> stop = s.stop() != null ? s.stop() : task.stopStrings();
        return new SamplingParams(s.n(), s.temperature(), s.topP(), s.topK(), s.maxNewTokens(), stop, seed);
    }

    /** The prompt text of a problem (the official format, with the task's few-shot prefix when asked). */
    public static String prompt(Task task, Problem p, boolean fewShot) { return Prompts.build(task, p.question(), fewShot); }

    /**
     * Samples {@code params.n()} responses to each problem in one sampler call (the notebook entry point; the
     * stage calls it once per chunk). The prompt is encoded here, once ({@link ctlab.model.Tokenizer#encodePrompt});
     * every later stage uses these ids.
     */
    public static List<ProblemSamples> sample(Generator sampler, Task task, List<Problem> problems, SamplingParams params,
                                              boolean fewShot) {
        List<Sampler.Request> requests = new ArrayList<>();
        List<String> prompts = new ArrayList<>();
        for (Problem p : problems) {
            String prompt = prompt(task, p, fewShot);
            prompts.add(prompt);
            requests.add(Sampler.Request.of(p.id(), sampler.tokenizer().encodePrompt(prompt)));
        }
        List<Sampler.Sample> all = sampler.sample(requests, params);
        List<ProblemSamples> out = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            Problem p = problems.get(i);
            List<ProblemSamples.Sample> mine = new ArrayList<>();
            for (Sampler.Sample s : all.subList(i * params.n(), (i + 1) * params.n())) {
                if (!s.requestId().equals(p.id())) throw new IllegalStateException("sampler returned rows out of order");
                ProblemSamples.Sample rec = ProblemSamples.Sample.of(p.id(), s, sampler.tokenizer());
                // the task's ground truth (organism v2's planted trap) located on the carried response ids
                mine.add(rec.withPlanted(task.annotate(p, sampler.tokenizer(), rec.responseIds())));
            }
            out.add(new ProblemSamples(p.id(), prompts.get(i), requests.get(i).promptIds(), p.answer(), params.seed(), mine));
        }
        return out;
    }

    @Override public void run(StageContext ctx) {
        RunConfig c = ctx.config();
        RunConfig.Sample cfg = c.sample();
        Task task = Tasks.named(c.task());
        Path trainFile = TaskData.trainFile(c);
        List<Problem> problems = TaskData.first(task.load(trainFile), cfg.problems(), "sample.problems", trainFile);
        SamplingParams params = params(cfg, task, ctx.seed("sampling"));
        int chunk = cfg.batchSize();
        boolean local = cfg.backend().equals(RunConfig.BACKEND_LOCAL);
        try (LlamaModel model = local ? StageSupport.loadModel(c) : null;
             ResumableJsonl out = ctx.resumable(SAMPLES, "problem_id");
             Generator sampler = StageSupport.generator(c, cfg.backend(), model, chunk * cfg.n())) {
            if (local) StageSupport.warnLongPrompts(ctx, model, task, problems, cfg.fewShot(), cfg.maxNewTokens());
            else ctx.log("backend: " + sampler.describe());
            int todo = (int) problems.stream().filter(p -> !out.has(p.id())).count();
            if (out.resumedCount() > 0) ctx.log("resuming: " + out.resumedCount() + " of " + problems.size() + " problems already sampled");
            ctx.log(String.format(Locale.ROOT, "%d problems x %d samples (T=%.2f, top_p=%.2f, max %d tokens), %d to do",
                    problems.size(), cfg.n(), cfg.temperature(), cfg.topP(), cfg.maxNewTokens(), todo));
            long t0 = System.nanoTime();
            int done = 0;
            try (Progress bar = ctx.progress("problems", todo)) {
                for (int from = 0; from < problems.size(); from += chunk) {
                    ctx.checkInterrupted();
                    List<Problem> part = problems.subList(from, Math.min(problems.size(), from + chunk));
                    if (part.stream().allMatch(p -> out.has(p.id()))) continue;
                    for (ProblemSamples ps : sample(sampler, task, part, params, cfg.fewShot())) {
                        if (out.has(ps.problemId())) continue;
                        out.append(ps);
                        done++;
                    }
                    double secs = (System.nanoTime() - t0) / 1e9;
                    bar.set(done, String.format(Locale.ROOT, "%d tokens, %.0f tok/s", sampler.tokensGenerated(),
                            sampler.tokensGenerated() / Math.max(secs, 1e-9)));
                }
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> m = summary(Jsonl.read(ctx.file(SAMPLES), ProblemSamples.class), sampler.tokensGenerated(), secs);
            if (!local) m.putAll(sampler.describe());   // which server answered (model, version)
            ctx.metrics(m);
        }
    }

    /** Counts over the whole samples file (the same whether or not the stage was resumed), plus this attempt's speed. */
    static Map<String, Object> summary(List<ProblemSamples> all, long tokensThisAttempt, double seconds) {
        Map<String, Object> m = new LinkedHashMap<>();
        long samples = 0, tokens = 0;
        Map<String, Integer> reasons = new LinkedHashMap<>();
        for (ProblemSamples ps : all) {
            for (ProblemSamples.Sample s : ps.samples()) {
                samples++;
                tokens += s.numTokens();
                reasons.merge(s.finishReason().json(), 1, Integer::sum);
            }
        }
        m.put("problems", all.size());
        m.put("samples", samples);
        m.put("generated_tokens", tokens);
        m.put("mean_tokens_per_sample", samples == 0 ? 0 : (double) tokens / samples);
        m.put("finish_reasons", reasons);
        m.put("attempt_tokens", tokensThisAttempt);
        m.put("attempt_seconds", seconds);
        m.put("attempt_tokens_per_s", seconds > 0 ? tokensThisAttempt / seconds : 0);
        return m;
    }
}

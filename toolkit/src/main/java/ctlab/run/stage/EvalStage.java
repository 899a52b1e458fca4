package ctlab.run.stage;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.io.Progress;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.run.ResumableJsonl;
import ctlab.run.RunConfig;
import ctlab.data.EvalOutcome;
import ctlab.run.Stage;
import ctlab.run.StageContext;
import ctlab.sample.Generator;
import ctlab.sample.Sampler;
import ctlab.sample.remote.RemoteGenerator;
import ctlab.sample.SamplingParams;
import ctlab.stats.Accuracy;
import ctlab.stats.PairedComparison;
import ctlab.stats.PassAtK;
import ctlab.task.Grade;
import ctlab.task.Grader;
import ctlab.task.Problem;
import ctlab.task.Task;
import ctlab.tasks.Tasks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Stage {@code eval}: greedy accuracy of the base model and of every trained policy adapter (one per loss in
 * {@code train.losses}; the SFT-positive/negative adapters too with {@code eval.sft_models}) on the first
 * {@code eval.problems} problems of {@code eval.split} → {@code eval-<method>.jsonl} ({@link EvalOutcome} per
 * problem, resumable per problem like the sample stage: fixed chunks of {@code eval.batch_size} problems) and
 * {@code summary.json}: accuracy with its 95% Wilson interval per method, pass@1..k when {@code eval.pass_k > 0}, and
 * paired comparisons (exact McNemar, paired bootstrap CI of the difference) of every method against {@code base}
 * and against {@code dpo} when it was trained.
 */
public final class EvalStage implements Stage {
    public static final String SUMMARY = "summary.json";
    public static final String BASE = "base", SFT_POS = "sft-pos", SFT_NEG = "sft-neg", DPO = "dpo";
    static final String TRAIN_STAGE = "train";

    @Override public String name() { return "eval"; }

    @Override public String description() {
        return "greedy accuracy (and pass@k) of the base and trained policies on eval.split (test unless set)";
    }

    @Override public List<String> configKeys() {
        return List.of("seed", "task", "sample.few_shot", "sample.stop", "sample.top_p", "sample.top_k", "train.losses", "eval");
    }

    /** A policy to evaluate: the base model ({@code adapter} null) or a PEFT adapter folder on it. */
    public record Policy(String method, Path adapter) {}

    @Override public List<Input> inputs(RunConfig c) {
        List<Input> in = new ArrayList<>();
        in.add(Input.external(c.model()));
        in.add(Input.external(TaskData.splitFile(c, c.eval().split()).toString()));
        for (String method : methods(c)) {
            if (!method.equals(BASE)) in.add(adapterInput(method));
        }
        return in;
    }

    @Override public List<String> outputs() { return List.of(SUMMARY, file(BASE)); }

    public static String file(String method) { return "eval-" + method + ".jsonl"; }

    /** The methods a config evaluates, in order: base, sft-pos and sft-neg (when asked), then each loss. */
    public static List<String> methods(RunConfig c) {
        List<String> m = new ArrayList<>();
        m.add(BASE);
        if (c.eval().sftModels()) { m.add(SFT_POS); m.add(SFT_NEG); }
        m.addAll(c.train().losses());
        return m;
    }

    /**
     * Where a method's adapter lives: the folder of stage {@code train-pos}/{@code train-neg}; for a loss, {@code <loss>/}
     * in the train stage's folder. The weights file is declared as the input (its hash goes into DONE).
     */
    static Input adapterInput(String method) {
        return switch (method) {
            case SFT_POS -> Input.fromStage("train-pos", Lora.WEIGHTS_FILE);
            case SFT_NEG -> Input.fromStage("train-neg", Lora.WEIGHTS_FILE);
            default -> Input.fromStage(TRAIN_STAGE, method + "/" + Lora.WEIGHTS_FILE);
        };
    }

    /** Greedy decoding with the task's (or the configured) stop strings. */
    public static SamplingParams greedyParams(RunConfig c, Task task) {
        List<String> stop = c.sample().stop() != null ? c.sample().stop() : task.stopStrings();
        return new SamplingParams(1, 0, 1, 0, c.eval().maxNewTokens(), stop, 0);
    }

    /** Temperature sampling for pass@k, or null when {@code eval.pass_k} is 0. */
    public static SamplingParams passParams(RunConfig c, Task task, long seed) {
        if (c.eval().passK() == 0) return null;
        List<String> stop = c.sample().stop() != null ? c.sample().stop() : task.stopStrings();
        return new SamplingParams(c.eval().passSamples(), c.eval().passTemperature(), c.sample().topP(), c.sample().topK(),
                c.eval().maxNewTokens(), stop, seed);
    }

    /**
     * Evaluates the model's active policy on {@code problems} (the notebook entry point; the stage calls it per
     * chunk): one greedy response per problem, graded, plus {@code pass.n()} graded samples when {@code pass} is given.
     */
    public static List<EvalOutcome> evaluate(Generator sampler, Task task, String method, List<Problem> problems,
                                             boolean fewShot, SamplingParams greedy, SamplingParams pass) {
        List<Sampler.Request> requests = new ArrayList<>();
        for (Problem p : problems) {
            requests.add(Sampler.Request.of(p.id(), sampler.tokenizer().encodePrompt(SampleStage.prompt(task, p, fewShot))));
        }
        // one pass: a problem's greedy answer and its pass@k samples share the prompt's prefill
        List<List<Sampler.Sample>> both = sampler.sample(requests, pass == null ? List.of(greedy) : List.of(greedy, pass));
        List<Sampler.Sample> g = both.get(0);
        List<Sampler.Sample> s = pass == null ? List.of() : both.get(1);
        List<EvalOutcome> out = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            Problem p = problems.get(i);
            Sampler.Sample r = g.get(i);
            Grade grade = Grader.grade(task, p, r.text());
            int passCorrect = 0;
            if (pass != null) {
                for (Sampler.Sample x : s.subList(i * pass.n(), (i + 1) * pass.n())) {
                    if (Grader.grade(task, p, x.text()).equal()) passCorrect++;
                }
            }
            out.add(new EvalOutcome(p.id(), method, grade.equal(), grade.extracted(), p.answer(), r.text(), r.numTokens(),
                    r.finishReason().json(), pass == null ? 0 : pass.n(), passCorrect, task.trapFamily(p)));
        }
        return out;
    }

    @Override public void run(StageContext ctx) {
        RunConfig c = ctx.config();
        Task task = Tasks.named(c.task());
        Path splitFile = TaskData.splitFile(c, c.eval().split());
        List<Problem> problems = TaskData.first(task.load(splitFile), c.eval().problems(), "eval.problems", splitFile);
        SamplingParams greedy = greedyParams(c, task);
        SamplingParams pass = passParams(c, task, ctx.seed("pass@k"));
        Map<String, List<EvalOutcome>> results = new LinkedHashMap<>();
        boolean local = c.eval().backend().equals(RunConfig.BACKEND_LOCAL);
        int rows = c.eval().batchSize() * (1 + (pass == null ? 0 : pass.n()));
        try (LlamaModel model = local ? StageSupport.loadModel(c) : null;
             Generator sampler = StageSupport.generator(c, c.eval().backend(), model, rows)) {
            if (local) StageSupport.warnLongPrompts(ctx, model, task, problems, c.sample().fewShot(), c.eval().maxNewTokens());
            else {
                ctx.log("backend: " + sampler.describe());
                ctx.metrics(sampler.describe());
            }
            for (String method : methods(c)) {
                Input in = adapterInput(method);
                Path adapter = method.equals(BASE) ? null : ctx.input(in.stage(), in.path()).getParent();
                results.put(method, evaluateMethod(ctx, sampler, task, new Policy(method, adapter), problems, greedy, pass));
            }
        }
        ObjectNode summary = summarize(c.eval().split(), results, c.eval().passK(), ctx.seed("bootstrap"));
        try {
            AtomicFiles.writeString(ctx.file(SUMMARY), Jsonl.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(summary) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (var m : summary.get("methods")) ctx.log(m.get("method").asText() + ": " + m.get("text").asText());
    }

    private static List<EvalOutcome> evaluateMethod(StageContext ctx, Generator sampler, Task task, Policy policy,
                                                    List<Problem> problems, SamplingParams greedy, SamplingParams pass) {
        RunConfig c = ctx.config();
        int chunk = c.eval().batchSize();
        Lora lora = null;
        if (sampler instanceof RemoteGenerator remote) {
            // the server applies the adapter (vLLM LoRA); the name carries the weights' hash, so a retrained
            // adapter is never answered by a stale one the server still holds
            String name = policy.adapter() == null ? null : "ctlab-" + policy.method() + "-"
                    + ctlab.run.Hashes.of(policy.adapter().resolve(Lora.WEIGHTS_FILE)).substring(0, 12);
            remote.useAdapter(name, policy.adapter());
        } else if (policy.adapter() != null) {
            lora = Lora.load(((Sampler) sampler).model(), policy.adapter());
        }
        try (ResumableJsonl out = ctx.resumable(file(policy.method()), "problem_id")) {
            int todo = (int) problems.stream().filter(p -> !out.has(p.id())).count();
            long tokens0 = sampler.tokensGenerated(), t0 = System.nanoTime();
            try (Progress bar = ctx.progress(policy.method(), todo)) {
                int done = 0;
                for (int from = 0; from < problems.size(); from += chunk) {
                    ctx.checkInterrupted();
                    List<Problem> part = problems.subList(from, Math.min(problems.size(), from + chunk));
                    if (part.stream().allMatch(p -> out.has(p.id()))) continue;
                    for (EvalOutcome o : evaluate(sampler, task, policy.method(), part, c.sample().fewShot(), greedy, pass)) {
                        if (out.has(o.problemId())) continue;
                        out.append(o);
                        done++;
                    }
                    double secs = (System.nanoTime() - t0) / 1e9;
                    long tokens = sampler.tokensGenerated() - tokens0;
                    bar.set(done, String.format(Locale.ROOT, "%d tokens, %.0f tok/s", tokens, tokens / Math.max(secs, 1e-9)));
                }
            }
        } finally {
            if (lora != null) lora.close();
        }
        List<EvalOutcome> all = Jsonl.read(ctx.file(file(policy.method())), EvalOutcome.class);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", policy.method());
        m.put("problems", all.size());
        m.put("correct", all.stream().filter(EvalOutcome::correct).count());
        ctx.metrics(m);
        return all;
    }

    /**
     * The summary of several methods' outcomes on the same problems: accuracy + Wilson interval, pass@1..k, and
     * paired comparisons against {@code base} and {@code dpo} (bootstrap seeded with {@code seed}).
     */
    public static ObjectNode summarize(String split, Map<String, List<EvalOutcome>> byMethod, int passK, long seed) {
        List<String> ids = null;
        for (var e : byMethod.entrySet()) {
            List<String> mine = e.getValue().stream().map(EvalOutcome::problemId).toList();
            if (ids == null) ids = mine;
            else if (!ids.equals(mine)) {
                throw new CtlabException("eval: method " + e.getKey() + " was evaluated on other problems than "
                        + byMethod.keySet().iterator().next());
            }
        }
        ObjectNode root = Jsonl.MAPPER.createObjectNode();
        root.put("split", split);
        root.put("problems", ids == null ? 0 : ids.size());
        ArrayNode methods = root.putArray("methods");
        for (var e : byMethod.entrySet()) {
            List<EvalOutcome> outs = e.getValue();
            ObjectNode m = methods.addObject();
            m.put("method", e.getKey());
            if (outs.isEmpty()) continue;
            Accuracy acc = Accuracy.of(outcomes(outs));
            m.put("correct", acc.correct());
            m.put("total", acc.total());
            m.put("accuracy", acc.estimate());
            m.put("wilson_lower", acc.lower());
            m.put("wilson_upper", acc.upper());
            m.put("text", acc.toString());
            if (passK > 0) {
                ObjectNode pk = m.putObject("pass_at_k");
                int[] n = outs.stream().mapToInt(EvalOutcome::passN).toArray();
                int[] c = outs.stream().mapToInt(EvalOutcome::passCorrect).toArray();
                for (int k = 1; k <= passK; k++) pk.put(Integer.toString(k), PassAtK.mean(n, c, k));
            }
        }
        ArrayNode comps = root.putArray("comparisons");
        for (String ref : List.of(BASE, DPO)) {
            if (!byMethod.containsKey(ref) || ids == null || ids.isEmpty()) continue;
            for (String m : byMethod.keySet()) {
                if (m.equals(ref) || (ref.equals(DPO) && m.equals(BASE))) continue;
                PairedComparison pc = PairedComparison.of(outcomes(byMethod.get(ref)), outcomes(byMethod.get(m)), seed);
                ObjectNode o = comps.addObject();
                o.put("a", ref);
                o.put("b", m);
                o.put("n", pc.n());
                o.put("accuracy_a", pc.accuracyA());
                o.put("accuracy_b", pc.accuracyB());
                o.put("difference", pc.difference());
                o.put("only_a", pc.onlyA());
                o.put("only_b", pc.onlyB());
                o.put("mcnemar_p", pc.mcnemarP());
                o.put("ci_lower", pc.ciLower());
                o.put("ci_upper", pc.ciUpper());
                o.put("confidence", pc.confidence());
                o.put("resamples", pc.resamples());
                o.put("seed", pc.seed());
            }
        }
        return root;
    }

    private static boolean[] outcomes(List<EvalOutcome> outs) {
        boolean[] b = new boolean[outs.size()];
        for (int i = 0; i < b.length; i++) b[i] = outs.get(i).correct();
        return b;
    }
}

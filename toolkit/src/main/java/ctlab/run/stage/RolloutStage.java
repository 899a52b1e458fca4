package ctlab.run.stage;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.critical.Agreement;
import ctlab.critical.RolloutProbe;
import ctlab.data.Planted;
import ctlab.data.ScoredPair;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.io.Progress;
import ctlab.model.LlamaModel;
import ctlab.run.ResumableJsonl;
import ctlab.run.RunConfig;
import ctlab.run.Stage;
import ctlab.run.StageContext;
import ctlab.sample.Generator;
import ctlab.sample.SamplingParams;
import ctlab.task.Grader;
import ctlab.task.Task;
import ctlab.tasks.Tasks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Stage {@code rollout}: ground-truth critical tokens of incorrect trajectories by {@link RolloutProbe}, and how
 * well the contrastive-estimation scores find them.
 *
 * <p>The trajectories are the rejected responses of the first {@code rollout.trajectories} scored pairs
 * ({@code 05-score-ce/pairs-scored.jsonl}, 0 = all), on their carried ids ({@code prompt_ids}, {@code rejected_ids}:
 * the tokens the model sampled and CE scored), each named by its {@code pair_id}; every probed position has its s_t
 * by position. Reading them from the scored pairs is what lets this stage report the agreement; the price is that
 * rollout runs after score-ce.
 *
 * <p>Continuations sample like the sample stage ({@code sample.temperature/top_p/top_k}, the task's stop strings)
 * with {@code rollout.max_new_tokens}. Each is graded as the complete response, prefix text + continuation
 * (the official code grades the continuation alone, which misses an answer already written in the prefix).
 * A prompt-only baseline (k samples) is probed too, so a drop at position 0 can count as critical.
 *
 * <p>Outputs: {@code rollout.jsonl} ({@link RolloutProbe.Result} per trajectory, resumable; {@code seconds} is wall
 * time, so only that field differs between runs) and {@code summary.json}: trajectories with a critical token under
 * both rules, mean pass@1..k with and without it (paper Fig. 1/2), cost in generated tokens and seconds, and
 * {@link Agreement} summaries (critical-token and drop labels) for both rules.
 */
public final class RolloutStage implements Stage {
    public static final String ROLLOUT = "rollout.jsonl", SUMMARY = "summary.json";
    static final String SCORED = "pairs-scored.jsonl";

    @Override public String name() { return "rollout"; }

    @Override public String description() {
        return "rollout probing of incorrect trajectories: ground-truth critical tokens, agreement with CE";
    }

    @Override public List<String> configKeys() {
        return List.of("seed", "task", "sample.temperature", "sample.top_p", "sample.top_k", "sample.stop", "rollout");
    }

    @Override public List<Input> inputs(RunConfig c) {
        return List.of(Input.external(c.model()), Input.fromStage("score-ce", SCORED));
    }

    @Override public List<String> outputs() { return List.of(ROLLOUT, SUMMARY); }

    /** A trajectory to probe with the CE scores of its response tokens. */
    public record Probed(RolloutProbe.Trajectory trajectory, double[] ceScores) {}

    /** The rejected sides of the first {@code limit} (0 = all) scored pairs as trajectories, id = pair id. */
    public static List<Probed> trajectories(List<ScoredPair> scored, int limit) {
        List<Probed> out = new ArrayList<>();
        for (int i = 0; i < scored.size() && (limit == 0 || out.size() < limit); i++) {
            ScoredPair sp = scored.get(i);
            out.add(new Probed(RolloutProbe.Trajectory.rejectedOf(sp.pair()), sp.rejectedScores()));
        }
        return out;
    }

    /** The probe settings of a config for a trajectory of {@code responseTokens} tokens. */
    public static RolloutProbe.Config probeConfig(RunConfig.Rollout r, SamplingParams sampling, int responseTokens) {
        String pos = r.positions();
        int stride = pos.startsWith("stride:") ? Integer.parseInt(pos.substring(7)) : 1;
        int[] positions = null;
        if (pos.startsWith("first:")) {
            int n = Math.min(Integer.parseInt(pos.substring(6)), responseTokens);
            positions = new int[n];
            for (int i = 0; i < n; i++) positions[i] = i;
        }
        double reset = (double) r.officialResetAbove() / r.k();
        if (reset >= 1) {
            throw new CtlabException("rollout.official_reset_above: must be < rollout.k (" + r.k() + "), got " + r.officialResetAbove());
        }
        return new RolloutProbe.Config(r.k(), sampling, stride, positions, true, reset, false);
    }

    /** Continuation sampling: the sample stage's knobs, rollout's token budget, a stage-derived seed. */
    public static SamplingParams sampling(RunConfig c, Task task, long seed) {
        List<String> stop = c.sample().stop() != null ? c.sample().stop() : task.stopStrings();
        return new SamplingParams(c.rollout().k(), c.sample().temperature(), c.sample().topP(), c.sample().topK(),
                c.rollout().maxNewTokens(), stop, seed);
    }

    @Override public void run(StageContext ctx) {
        RunConfig c = ctx.config();
        Task task = Tasks.named(c.task());
        List<ScoredPair> scored = Jsonl.read(ctx.input("score-ce", SCORED), ScoredPair.class);
        SamplingParams sampling = sampling(c, task, ctx.seed("rollout"));
        List<RolloutProbe.Result> results = new ArrayList<>();
        List<double[]> scores = new ArrayList<>();
        Map<String, Object> backend;
        try (LlamaModel model = StageSupport.loadModel(c);
             ResumableJsonl out = ctx.resumable(ROLLOUT, "trajectory_id");
             Generator sampler = StageSupport.generator(c, c.rollout().backend(), model, c.rollout().batchSize())) {
            if (!c.rollout().backend().equals(RunConfig.BACKEND_LOCAL)) ctx.log("backend: " + sampler.describe());
            List<Probed> todo = trajectories(scored, c.rollout().trajectories());
            ctx.log(String.format(Locale.ROOT, "%d trajectories, k=%d, positions %s, %d already done", todo.size(),
                    c.rollout().k(), c.rollout().positions(), out.resumedCount()));
            long t0 = System.nanoTime();
            try (Progress bar = ctx.progress("trajectories", todo.size() - out.resumedCount())) {
                int done = 0;
                for (Probed p : todo) {
                    ctx.checkInterrupted();
                    if (out.has(p.trajectory().id())) continue;
                    RolloutProbe probe = new RolloutProbe(sampler, model,
                            probeConfig(c.rollout(), sampling, p.trajectory().responseIds().length),
                            (text, ref) -> Grader.grade(task, ref, text).equal());
                    out.append(probe.probe(p.trajectory()));
                    double secs = (System.nanoTime() - t0) / 1e9;
                    bar.set(++done, String.format(Locale.ROOT, "%d tokens, %.0f tok/s", sampler.tokensGenerated(),
                            sampler.tokensGenerated() / Math.max(secs, 1e-9)));
                }
            }
            backend = c.rollout().backend().equals(RunConfig.BACKEND_LOCAL) ? Map.of() : sampler.describe();
            Map<String, RolloutProbe.Result> byId = new HashMap<>();
            for (RolloutProbe.Result r : Jsonl.read(ctx.file(ROLLOUT), RolloutProbe.Result.class)) byId.put(r.trajectoryId(), r);
            for (Probed p : todo) {
                results.add(byId.get(p.trajectory().id()));
                scores.add(p.ceScores());
            }
        }
        ObjectNode summary = summarize(results, scores, c.rollout().k());
        ObjectNode planted = planted(results, scored);
        if (planted != null) summary.set("planted", planted);
        try {
            AtomicFiles.writeString(ctx.file(SUMMARY), Jsonl.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(summary) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (String key : List.of("trajectories", "with_critical", "with_critical_official", "tokens_generated", "seconds")) {
            m.put(key, summary.get(key));
        }
        m.putAll(backend);
        ctx.metrics(m);
        ctx.log("summary: " + m);
    }

    /**
     * Both rollout rules vs the planted critical tokens (organism v2) over the probed trajectories that fell into
     * their trap: how many had a critical token, the critical token IS the planted one, within one of it. Null when no
     * probed pair carries ground truth. {@code results} are the rejected sides of the first scored pairs, in order.
     */
    public static ObjectNode planted(List<RolloutProbe.Result> results, List<ScoredPair> scored) {
        int n = 0, any = 0;
        int[][] counts = new int[2][3];                                    // rule -> found, exact, within one
        for (int i = 0; i < results.size(); i++) {
            Planted p = scored.get(i).pair().rejectedPlanted();
            if (p != null) any++;
            if (p == null || !p.fellIn()) continue;
            n++;
            RolloutProbe.Result r = results.get(i);
            int[] found = {r.critical(), r.criticalOfficial()};
            for (int rule = 0; rule < 2; rule++) {
                if (found[rule] < 0) continue;
                counts[rule][0]++;
                if (found[rule] == p.position()) counts[rule][1]++;
                if (Math.abs(found[rule] - p.position()) <= 1) counts[rule][2]++;
            }
        }
        if (any == 0) return null;
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        o.put("trajectories", n);
        String[] names = {"paper", "official"};
        for (int rule = 0; rule < 2; rule++) {
            ObjectNode r = o.putObject(names[rule]);
            r.put("with_critical", counts[rule][0]);
            r.put("exact_rate", n == 0 ? Double.NaN : counts[rule][1] / (double) n);
            r.put("within_one_rate", n == 0 ? Double.NaN : counts[rule][2] / (double) n);
        }
        return o;
    }

    /** Critical-token counts, pass@k curves with/without the critical token, cost, and CE agreement. */
    public static ObjectNode summarize(List<RolloutProbe.Result> results, List<double[]> ceScores, int k) {
        ObjectNode s = Jsonl.MAPPER.createObjectNode();
        s.put("trajectories", results.size());
        s.put("with_critical", results.stream().filter(r -> r.critical() >= 0).count());
        s.put("with_critical_official", results.stream().filter(r -> r.criticalOfficial() >= 0).count());
        s.put("tokens_generated", results.stream().mapToLong(RolloutProbe.Result::tokensGenerated).sum());
        s.put("seconds", results.stream().mapToDouble(RolloutProbe.Result::seconds).sum());
        ObjectNode pass = s.putObject("pass_at_k");
        ObjectNode agree = s.putObject("agreement");
        for (RolloutProbe.Rule rule : RolloutProbe.Rule.values()) {
            String name = rule == RolloutProbe.Rule.OFFICIAL ? "official" : "paper";
            ObjectNode p = pass.putObject(name);
            p.set("with", Jsonl.MAPPER.valueToTree(RolloutProbe.meanPassAtK(results, rule, true, k)));
            p.set("without", Jsonl.MAPPER.valueToTree(RolloutProbe.meanPassAtK(results, rule, false, k)));
            ObjectNode a = agree.putObject(name);
            if (results.isEmpty()) continue;
            for (Agreement.Labels labels : Agreement.Labels.values()) {
                a.set(labels.name().toLowerCase(Locale.ROOT),
                        Jsonl.MAPPER.valueToTree(Agreement.summarize(ceScores, results, rule, labels)));
            }
        }
        return s;
    }
}

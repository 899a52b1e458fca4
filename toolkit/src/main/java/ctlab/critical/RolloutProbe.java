package ctlab.critical;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import ctlab.CtlabException;
import ctlab.io.Progress;
import ctlab.model.LlamaModel;
import ctlab.sample.Generator;
import ctlab.sample.Sampler;
import ctlab.sample.Sampler.Request;
import ctlab.sample.Sampler.Sample;
import ctlab.sample.SamplingParams;
import ctlab.stats.PassAtK;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiPredicate;

/**
 * Ground-truth critical tokens by rollouts (paper §2, Fig. 1/2; official
 * {@code src/rollout_sampling_for_critical_tokens.py}).
 *
 * <p>For an incorrect trajectory (prompt ids, response ids) and each probed response position i:
 * <ul>
 *   <li><b>with</b>: k continuations sampled from the prefix {@code response[0..i]} (token i kept);</li>
 *   <li><b>without</b>: k continuations, the j-th from {@code response[0..i-1] + r_j}, where r_j is drawn from
 *       the model's next-token distribution at i (softmax of the raw logits, temperature 1, as the official
 *       {@code torch.multinomial(probs)}) with the original token's probability set to 0. Each continuation
 *       gets its own replacement, like the official 64 replacements × 1 continuation.</li>
 * </ul>
 * Each completed response (prefix text + continuation text; or the continuation alone, as the official
 * code grades, with {@link Config#continuationOnly}) is graded against the reference. Continuations
 * use {@link SamplingParams} as given (official: the sampling temperature, top_p 0.95, 1024 tokens, stops).
 * Unlike the official code, which decodes the prefix to text and re-tokenizes prompt + prefix, we continue
 * from the exact token ids, so no merge happens at the prefix boundary.
 *
 * <p><b>Critical token, our rule</b>: the earliest probed position whose "with" rate is 0 while some earlier
 * probed position (or the prompt-only baseline, when probed) had a positive rate. <b>Official rule</b>: walk the
 * positions in order; the first position with 0 correct "with" continuations becomes the candidate; a later
 * position with more than {@code resetFraction·k} correct (official: > 3 of 64) drops the candidate (it is
 * remembered as the fallback) and the search restarts; the answer is the open candidate, else the last
 * dropped one, else none.
 *
 * <p>Seeds: the with-continuations of position i are samples 0..k−1 of request {@code "<id>/with/<i>"}, the
 * j-th without-continuation is sample 0 of {@code "<id>/without/<i>/<j>"}, and its replacement token is drawn
 * with {@link Sampler#sampleSeed}(seed, {@code "<id>/replace/<i>"}, j); so any subset/stride and any batching
 * reproduces the same numbers for the same positions.
 */
public final class RolloutProbe {

    /**
     * @param k             continuations per position and side (official: 64)
     * @param sampling      how continuations are sampled ({@code n} is ignored; k is used)
     * @param stride        probe every stride-th position (1 = all)
     * @param positions     explicit positions to probe instead of a stride (null = use stride)
     * @param baseline      also roll out k times from the prompt alone (counts as "before" position 0)
     * @param resetFraction official rule's reset: a later position with more than resetFraction·k correct
     *                      clears the candidate (official: 3/64)
     * @param continuationOnly grade only the continuation text, as the official code does (it grades vLLM's
     *                      {@code generation_result}); false grades prefix text + continuation, the complete
     *                      response, which matters when the answer was already written in the prefix
     */
    public record Config(int k, SamplingParams sampling, int stride, int[] positions, boolean baseline,
                         double resetFraction, boolean continuationOnly) {
        public static final double OFFICIAL_RESET_FRACTION = 3.0 / 64;

        public Config {
            if (k < 1) throw new CtlabException("rollout: k must be >= 1, got " + k);
            if (sampling == null) throw new CtlabException("rollout: sampling parameters missing");
            if (stride < 1) throw new CtlabException("rollout: stride must be >= 1, got " + stride);
            if (!(resetFraction >= 0 && resetFraction < 1)) {
                throw new CtlabException("rollout: reset_fraction must be in [0, 1), got " + resetFraction);
            }
            positions = positions == null ? null : positions.clone();
        }

        /** Official settings: 64 continuations per side, every position, official reset, no baseline. */
        public static Config official(SamplingParams sampling) {
            return new Config(64, sampling, 1, null, false, OFFICIAL_RESET_FRACTION, true);
        }
    }

    /** An incorrect trajectory to probe. */
    public record Trajectory(String id, int[] promptIds, int[] responseIds, String reference) {
        public Trajectory {
            if (id == null || id.isEmpty()) throw new CtlabException("rollout: trajectory without id");
            if (promptIds == null || promptIds.length == 0) throw new CtlabException("rollout: trajectory '" + id + "' has no prompt ids");
            if (responseIds == null || responseIds.length == 0) throw new CtlabException("rollout: trajectory '" + id + "' has no response ids");
        }

        /** The rejected side of a pair, on its carried ids (id = the pair id). */
        public static Trajectory rejectedOf(ctlab.data.PreferencePair p) {
            return new Trajectory(p.pairId(), p.promptIds(), p.rejectedIds(), p.reference());
        }
    }

    /** One probed response token. Rates are correct / total (NaN never occurs: total = k). */
    @JsonIgnoreProperties(value = {"with_rate", "without_rate"}, allowGetters = true)
    @JsonPropertyOrder({"position", "token_id", "token", "prob", "with_correct", "with_total", "without_correct",
            "without_total"})
    public record TokenRow(@JsonProperty("position") int position,
                           @JsonProperty("token_id") int tokenId,
                           @JsonProperty("token") String token,
                           @JsonProperty("prob") double prob,
                           @JsonProperty("with_correct") int withCorrect,
                           @JsonProperty("with_total") int withTotal,
                           @JsonProperty("without_correct") int withoutCorrect,
                           @JsonProperty("without_total") int withoutTotal) {
        @JsonProperty("with_rate") public double withRate() { return (double) withCorrect / withTotal; }

        @JsonProperty("without_rate") public double withoutRate() { return (double) withoutCorrect / withoutTotal; }
    }

    /** The per-trajectory record (one JSONL line). Critical positions are -1 when none was found. */
    @JsonIgnoreProperties(value = {"pass_at_k_with", "pass_at_k_without"}, allowGetters = true)
    @JsonPropertyOrder({"trajectory_id", "response_length", "k", "baseline_correct", "critical", "critical_official",
            "pass_at_k_with", "pass_at_k_without", "tokens_generated", "seconds", "seed", "tokens"})
    public record Result(@JsonProperty("trajectory_id") String trajectoryId,
                         @JsonProperty("response_length") int responseLength,
                         @JsonProperty("k") int k,
                         @JsonProperty("baseline_correct") int baselineCorrect,
                         @JsonProperty("critical") int critical,
                         @JsonProperty("critical_official") int criticalOfficial,
                         @JsonProperty("tokens_generated") long tokensGenerated,
                         @JsonProperty("seconds") double seconds,
                         @JsonProperty("seed") long seed,
                         @JsonProperty("tokens") List<TokenRow> tokens) {
        public Result {
            tokens = List.copyOf(tokens);
        }

        /** The row of a probed position, or null. */
        public TokenRow row(int position) {
            for (TokenRow r : tokens) if (r.position() == position) return r;
            return null;
        }

        /** pass@1..k with the critical token kept (our rule); empty when there is none. */
        @JsonProperty("pass_at_k_with") public double[] passAtKWith() { return curve(critical, true); }

        /** pass@1..k with the critical token replaced (our rule); empty when there is none. */
        @JsonProperty("pass_at_k_without") public double[] passAtKWithout() { return curve(critical, false); }

        /** pass@1..k at a position, with or without its token; empty when not probed. */
        public double[] curve(int position, boolean with) {
            TokenRow r = position < 0 ? null : row(position);
            if (r == null) return new double[0];
            return with ? passAtKCurve(r.withTotal(), r.withCorrect(), k) : passAtKCurve(r.withoutTotal(), r.withoutCorrect(), k);
        }

        @JsonIgnore public boolean hasBaseline() { return baselineCorrect >= 0; }
    }

    /** Which critical-token definition to aggregate over. */
    public enum Rule { FIRST_DROP, OFFICIAL }

    private final Generator sampler;
    private final LlamaModel model;
    private final Config config;
    private final BiPredicate<String, String> isCorrect;

    /**
     * @param isCorrect grader: (full response text, reference answer) → correct; e.g. the tasks branch's Grader
     */
    public RolloutProbe(Sampler sampler, Config config, BiPredicate<String, String> isCorrect) {
        this(sampler, sampler.model(), config, isCorrect);
    }

    /**
     * Continuations from {@code generator} (the local sampler or a server); the replacement tokens come from
     * {@code model}'s own next-token distributions, which only a local model gives.
     */
    public RolloutProbe(Generator generator, LlamaModel model, Config config, BiPredicate<String, String> isCorrect) {
        this.sampler = generator;
        this.model = model;
        this.config = config;
        this.isCorrect = isCorrect;
    }

    /** Probes every trajectory in turn. */
    public List<Result> probeAll(List<Trajectory> trajectories) {
        List<Result> out = new ArrayList<>();
        try (Progress p = Progress.start("rollout", trajectories.size())) {
            for (Trajectory t : trajectories) {
                out.add(probe(t));
                p.step(t.id());
            }
        }
        return out;
    }

    /** Probes one trajectory: with/without rates per position, both critical-token rules, cost. */
    public Result probe(Trajectory t) {
        long t0 = System.nanoTime();
        long tokens0 = sampler.tokensGenerated();
        int[] resp = t.responseIds();
        int[] positions = positions(t);
        long seed = config.sampling().seed();
        SamplingParams one = config.sampling().withN(1);

        double[] origProb = new double[positions.length];
        int[][] replacements = replacements(t, positions, origProb);

        List<Request> withReqs = new ArrayList<>();
        for (int i : positions) withReqs.add(new Request(t.id() + "/with/" + i, t.promptIds(), Arrays.copyOf(resp, i + 1)));
        List<Request> withoutReqs = new ArrayList<>();
        for (int p = 0; p < positions.length; p++) {
            int i = positions[p];
            for (int j = 0; j < config.k(); j++) {
                int[] prefix = Arrays.copyOf(resp, i + 1);
                prefix[i] = replacements[p][j];
                withoutReqs.add(new Request(t.id() + "/without/" + i + "/" + j, t.promptIds(), prefix));
            }
        }
        // one sampler call for all of a trajectory's rows (seeds per (id, index) as in separate calls), so the
        // batch stays full across them; the k "with" rows of a prefix are consecutive and share its prefill
        int k = config.k();
        List<Request> all = new ArrayList<>();
        List<Integer> index = new ArrayList<>();
        for (Request r : withReqs) for (int j = 0; j < k; j++) { all.add(r); index.add(j); }
        for (Request r : withoutReqs) { all.add(r); index.add(0); }
        if (config.baseline()) {
            Request b = Request.of(t.id() + "/baseline", t.promptIds());
            for (int j = 0; j < k; j++) { all.add(b); index.add(j); }
        }
        List<Sample> samples = sampler.sampleSelected(all, index.stream().mapToInt(Integer::intValue).toArray(), one);
        List<Sample> with = samples.subList(0, withReqs.size() * k);
        List<Sample> without = samples.subList(with.size(), with.size() + withoutReqs.size());
        int baseline = -1;
        if (config.baseline()) {
            baseline = 0;
            for (Sample s : samples.subList(with.size() + without.size(), samples.size())) {
                if (isCorrect.test(s.text(), t.reference())) baseline++;
            }
        }

        List<TokenRow> rows = new ArrayList<>();
        for (int p = 0; p < positions.length; p++) {
            int i = positions[p];
            String withPrefix = config.continuationOnly() ? "" : decode(Arrays.copyOf(resp, i + 1));
            int wc = 0, woc = 0;
            for (int j = 0; j < config.k(); j++) {
                if (isCorrect.test(withPrefix + with.get(p * config.k() + j).text(), t.reference())) wc++;
                Request r = withoutReqs.get(p * config.k() + j);
                String withoutPrefix = config.continuationOnly() ? "" : decode(r.forcedPrefix());
                if (isCorrect.test(withoutPrefix + without.get(p * config.k() + j).text(), t.reference())) woc++;
            }
            rows.add(new TokenRow(i, resp[i], decode(new int[] {resp[i]}), origProb[p], wc, config.k(), woc, config.k()));
        }
        return new Result(t.id(), resp.length, config.k(), baseline, firstDrop(rows, baseline),
                official(rows, config.resetFraction()), sampler.tokensGenerated() - tokens0,
                (System.nanoTime() - t0) / 1e9, seed, rows);
    }

    private int[] positions(Trajectory t) {
        int n = t.responseIds().length;
        if (config.positions() != null) {
            int[] ps = config.positions().clone();
            Arrays.sort(ps);
            for (int p : ps) {
                if (p < 0 || p >= n) {
                    throw new CtlabException("rollout: position " + p + " is outside trajectory '" + t.id()
                            + "' (response of " + n + " tokens)");
                }
            }
            return Arrays.stream(ps).distinct().toArray();
        }
        int[] ps = new int[(n + config.stride() - 1) / config.stride()];
        for (int j = 0; j < ps.length; j++) ps[j] = j * config.stride();
        return ps;
    }

    /**
     * k replacement tokens per probed position from one teacher-forced pass: softmax of the logits that
     * predict response token i, the original token zeroed, renormalised; drawn on the CPU with seeded RNGs.
     * Also returns each original token's probability in {@code origProb}.
     */
    private int[][] replacements(Trajectory t, int[] positions, double[] origProb) {
        int[] seq = Sampler.concat(t.promptIds(), t.responseIds());
        int promptLen = t.promptIds().length;
        int[][] out = new int[positions.length][config.k()];
        try (NDManager m = model.weightsManager().newSubManager()) {
            long[] ids = Arrays.stream(seq).asLongStream().toArray();
            NDArray logits = model.logits(m.create(ids, new Shape(1, ids.length)), m.ones(new Shape(1, ids.length)));  // (1, T, V)
            for (int p = 0; p < positions.length; p++) {
                int i = positions[p];
                float[] row;
                try (NDArray r = logits.get("0, {}, :", promptLen - 1 + i)) {           // (V)
                    row = r.toFloatArray();
                }
                int orig = t.responseIds()[i];
                // softmax in double on the CPU; excluding the original token before normalising keeps the
                // alternatives' distribution exact even when the original token's probability rounds to 1
                double max = Double.NEGATIVE_INFINITY, maxOther = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < row.length; v++) {
                    if (!Float.isFinite(row[v])) throw new IllegalStateException("non-finite logit at position " + i + " of " + t.id());
                    max = Math.max(max, row[v]);
                    if (v != orig) maxOther = Math.max(maxOther, row[v]);
                }
                double[] others = new double[row.length];
                double z = 0, zOthers = 0;
                for (int v = 0; v < row.length; v++) {
                    z += Math.exp(row[v] - max);
                    if (v != orig) {
                        others[v] = Math.exp(row[v] - maxOther);
                        zOthers += others[v];
                    }
                }
                origProb[p] = Math.exp(row[orig] - max) / z;
                for (int j = 0; j < config.k(); j++) {
                    SplittableRandom rng = new SplittableRandom(Sampler.sampleSeed(config.sampling().seed(), t.id() + "/replace/" + i, j));
                    out[p][j] = drawIndex(others, zOthers, rng);
                }
            }
        }
        return out;
    }

    private static int drawIndex(double[] w, double total, SplittableRandom rng) {
        double u = rng.nextDouble() * total, acc = 0;
        int last = -1;
        for (int j = 0; j < w.length; j++) {
            if (w[j] <= 0) continue;
            acc += w[j];
            last = j;
            if (u < acc) return j;
        }
        return last;
    }

    private String decode(int[] ids) {
        return sampler.tokenizer().decode(Arrays.stream(ids).asLongStream().toArray(), true);
    }

    // ------------------------------------------------------------------ critical-token rules

    /** Our rule: earliest position with with-rate 0 after a positive rate (baseline counts when probed). */
    static int firstDrop(List<TokenRow> rows, int baselineCorrect) {
        boolean sawPositive = baselineCorrect > 0;
        for (TokenRow r : rows) {
            if (r.withCorrect() == 0 && sawPositive) return r.position();
            if (r.withCorrect() > 0) sawPositive = true;
        }
        return -1;
    }

    /** The official rule (see class doc), with the reset at more than resetFraction·k correct. */
    static int official(List<TokenRow> rows, double resetFraction) {
        int candidate = -1, lastDropped = -1;
        boolean open = false;
        for (TokenRow r : rows) {
            if (r.withCorrect() == 0 && !open) {
                candidate = r.position();
                open = true;
            }
            if (open && r.withCorrect() > resetFraction * r.withTotal()) {
                lastDropped = candidate;
                candidate = -1;
                open = false;
            }
        }
        return open ? candidate : lastDropped;
    }

    // ------------------------------------------------------------------ aggregates (paper Fig. 1/2)

    /** {@link PassAtK#estimate} with k larger than n clamped to n, like the official rollout analysis. */
    static double passAtK(int n, int c, int k) { return PassAtK.estimate(n, c, Math.min(k, n)); }

    /** pass@1..maxK for one (n, c). */
    static double[] passAtKCurve(int n, int c, int maxK) {
        double[] out = new double[maxK];
        for (int k = 1; k <= maxK; k++) out[k - 1] = passAtK(n, c, k);
        return out;
    }

    /**
     * Mean pass@1..maxK over the trajectories that have a critical token under {@code rule}, with the token
     * kept or replaced; like the official analysis, trajectories without one are left out.
     */
    public static double[] meanPassAtK(List<Result> results, Rule rule, boolean with, int maxK) {
        double[] sum = new double[maxK];
        int count = 0;
        for (Result r : results) {
            int pos = rule == Rule.OFFICIAL ? r.criticalOfficial() : r.critical();
            TokenRow row = pos < 0 ? null : r.row(pos);
            if (row == null) continue;
            int n = with ? row.withTotal() : row.withoutTotal(), c = with ? row.withCorrect() : row.withoutCorrect();
            for (int k = 1; k <= maxK; k++) sum[k - 1] += passAtK(n, c, k);
            count++;
        }
        if (count == 0) return new double[0];
        for (int k = 0; k < maxK; k++) sum[k] /= count;
        return sum;
    }
}

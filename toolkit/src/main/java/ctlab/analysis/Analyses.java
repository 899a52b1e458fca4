package ctlab.analysis;

import ctlab.data.EvalOutcome;
import ctlab.CtlabException;
import ctlab.critical.Agreement;
import ctlab.critical.RolloutProbe;
import ctlab.stats.Accuracy;
import ctlab.stats.PairedComparison;
import ctlab.train.loss.LossType;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;
import org.apache.commons.math3.stat.inference.MannWhitneyUTest;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.Row;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The standard analyses of a run, each a function from {@link RunTables} / {@link RunData} to a Tablesaw table.
 * Token-level analyses use the rejected responses that were rolled out (they carry the ground-truth critical
 * token, paper §2) and the CE score s_t of each token (paper §3, Eq. 4–5).
 */
public final class Analyses {
    private Analyses() {}

    /** Tokens of rolled-out trajectories: the population the token-level analyses compare. */
    static Table rolledOutTokens(Table tokens) {
        StringColumn side = tokens.stringColumn("side");
        java.util.Set<String> rolled = new java.util.HashSet<>();
        for (Row r : tokens) if (r.getBoolean("critical") || r.getBoolean("probed")) rolled.add(r.getString("trajectory"));
        return tokens.where(side.isEqualTo("rejected").and(tokens.stringColumn("trajectory").isIn(rolled)));
    }

    /**
     * Which token classes are critical: per class over the rolled-out rejected responses, tokens, critical (our
     * rule), critical_rate = critical / tokens, share_of_critical = critical / all critical tokens, mean_s.
     */
    public static Table criticalByClass(Table tokens) {
        Table t = rolledOutTokens(tokens);
        Map<String, double[]> acc = new LinkedHashMap<>();   // tokens, critical, sum s, n s
        for (TokenClass c : TokenClass.values()) acc.put(c.label(), new double[4]);
        int totalCritical = 0;
        for (Row r : t) {
            double[] a = acc.computeIfAbsent(r.getString("token_class"), k -> new double[4]);
            a[0]++;
            if (r.getBoolean("critical")) {
                a[1]++;
                totalCritical++;
            }
            double s = r.getDouble("s");
            if (!Double.isNaN(s)) {
                a[2] += s;
                a[3]++;
            }
        }
        StringColumn cls = StringColumn.create("token_class");
        IntColumn n = IntColumn.create("tokens"), crit = IntColumn.create("critical");
        DoubleColumn rate = DoubleColumn.create("critical_rate"), share = DoubleColumn.create("share_of_critical"),
                meanS = DoubleColumn.create("mean_s");
        for (var e : acc.entrySet()) {
            double[] a = e.getValue();
            if (a[0] == 0) continue;
            cls.append(e.getKey());
            n.append((int) a[0]);
            crit.append((int) a[1]);
            rate.append(a[1] / a[0]);
            share.append(totalCritical == 0 ? Double.NaN : a[1] / totalCritical);
            meanS.append(a[3] == 0 ? Double.NaN : a[2] / a[3]);
        }
        return Table.create("critical tokens by class", cls, n, crit, rate, share, meanS);
    }

    /**
     * Where the critical tokens sit: one row per critical token (our rule) with its trajectory, token, class,
     * position, relative_position (position / response length), step, dist_first_wrong (position − first wrong
     * number's position; missing when unknown), s, and s_rank (1 = the lowest s_t of its response).
     */
    public static Table criticalPlacement(RunTables tables) {
        Table tokens = tables.tokens();
        Map<String, Integer> length = new HashMap<>();
        Table traj = tables.trajectories();
        for (Row r : traj) length.put(r.getString("trajectory"), r.getInt("tokens"));
        Map<String, double[]> scores = new HashMap<>();
        for (RunTables.ScoredRollout sr : tables.scoredRollouts()) scores.put(sr.trajectory(), sr.s());
        Table crit = tokens.where(tokens.booleanColumn("critical").isTrue());
        StringColumn tr = StringColumn.create("trajectory"), tok = StringColumn.create("token"),
                cls = StringColumn.create("token_class");
        IntColumn pos = IntColumn.create("position"), step = IntColumn.create("step"),
                dist = IntColumn.create("dist_first_wrong"), rank = IntColumn.create("s_rank");
        DoubleColumn rel = DoubleColumn.create("relative_position"), s = DoubleColumn.create("s");
        for (Row r : crit) {
            String id = r.getString("trajectory");
            int p = r.getInt("position");
            tr.append(id);
            tok.append(r.getString("token"));
            cls.append(r.getString("token_class"));
            pos.append(p);
            rel.append((double) p / length.get(id));
            if (r.isMissing("step")) step.appendMissing(); else step.append(r.getInt("step"));
            if (r.isMissing("dist_first_wrong")) dist.appendMissing(); else dist.append(r.getInt("dist_first_wrong"));
            s.append(r.getDouble("s"));
            double[] all = scores.get(id);
            if (all == null) rank.appendMissing();
            else {
                int below = 0;
                for (double v : all) if (v < all[p]) below++;
                rank.append(below + 1);
            }
        }
        return Table.create("critical token placement", tr, tok, cls, pos, rel, step, dist, s, rank);
    }

    /**
     * CE score distributions of critical vs other tokens of the rolled-out responses: {@code bins} equal bins on
     * [0, 1] with the count and the fraction of each group per bin.
     */
    public static Table ceHistogram(Table tokens, int bins) {
        if (bins < 1) throw new IllegalArgumentException("bins must be >= 1");
        int[][] counts = new int[2][bins];
        int[] totals = new int[2];
        for (Row r : rolledOutTokens(tokens)) {
            double s = r.getDouble("s");
            if (Double.isNaN(s)) continue;
            int g = r.getBoolean("critical") ? 0 : 1;
            counts[g][Math.min(bins - 1, (int) Math.floor(s * bins))]++;
            totals[g]++;
        }
        DoubleColumn lo = DoubleColumn.create("bin_lo"), hi = DoubleColumn.create("bin_hi"),
                fc = DoubleColumn.create("critical_fraction"), fo = DoubleColumn.create("other_fraction");
        IntColumn cc = IntColumn.create("critical"), co = IntColumn.create("other");
        for (int b = 0; b < bins; b++) {
            lo.append((double) b / bins);
            hi.append((double) (b + 1) / bins);
            cc.append(counts[0][b]);
            co.append(counts[1][b]);
            fc.append(totals[0] == 0 ? Double.NaN : (double) counts[0][b] / totals[0]);
            fo.append(totals[1] == 0 ? Double.NaN : (double) counts[1][b] / totals[1]);
        }
        return Table.create("CE score histogram", lo, hi, cc, co, fc, fo);
    }

    /**
     * Summary of s_t for critical vs other tokens of the rolled-out responses: n, mean, median, sd, and the
     * two-sided Mann–Whitney U p-value (commons-math3) of critical vs other (NaN when a group is empty).
     */
    public static Table ceSummary(Table tokens) {
        List<Double> crit = new ArrayList<>(), other = new ArrayList<>();
        for (Row r : rolledOutTokens(tokens)) {
            double s = r.getDouble("s");
            if (!Double.isNaN(s)) (r.getBoolean("critical") ? crit : other).add(s);
        }
        double[] c = crit.stream().mapToDouble(Double::doubleValue).toArray();
        double[] o = other.stream().mapToDouble(Double::doubleValue).toArray();
        double p = c.length == 0 || o.length == 0 ? Double.NaN : new MannWhitneyUTest().mannWhitneyUTest(c, o);
        StringColumn g = StringColumn.create("group");
        IntColumn n = IntColumn.create("n");
        DoubleColumn mean = DoubleColumn.create("mean_s"), median = DoubleColumn.create("median_s"),
                sd = DoubleColumn.create("sd_s"), pv = DoubleColumn.create("mann_whitney_p");
        for (int i = 0; i < 2; i++) {
            double[] v = i == 0 ? c : o;
            DescriptiveStatistics d = new DescriptiveStatistics(v);
            g.append(i == 0 ? "critical" : "other");
            n.append(v.length);
            mean.append(v.length == 0 ? Double.NaN : d.getMean());
            median.append(v.length == 0 ? Double.NaN : d.getPercentile(50));
            sd.append(v.length < 2 ? Double.NaN : d.getStandardDeviation());
            pv.append(p);
        }
        return Table.create("CE scores: critical vs other", g, n, mean, median, sd, pv);
    }

    /**
     * s_t by response side over all CE-scored tokens (no rollout needed): for chosen and rejected responses, n,
     * mean, median, sd, and the share of tokens with s_t &lt; 0.5 (the pos model less likely than the neg model).
     */
    public static Table ceBySide(Table tokens) {
        StringColumn side = StringColumn.create("side");
        IntColumn n = IntColumn.create("n");
        DoubleColumn mean = DoubleColumn.create("mean_s"), median = DoubleColumn.create("median_s"),
                sd = DoubleColumn.create("sd_s"), low = DoubleColumn.create("share_below_half");
        for (String sd0 : List.of("chosen", "rejected")) {
            DescriptiveStatistics d = new DescriptiveStatistics();
            for (Row r : tokens.where(tokens.stringColumn("side").isEqualTo(sd0))) {
                double s = r.getDouble("s");
                if (!Double.isNaN(s)) d.addValue(s);
            }
            long below = java.util.Arrays.stream(d.getValues()).filter(v -> v < 0.5).count();
            side.append(sd0);
            n.append((int) d.getN());
            mean.append(d.getN() == 0 ? Double.NaN : d.getMean());
            median.append(d.getN() == 0 ? Double.NaN : d.getPercentile(50));
            sd.append(d.getN() < 2 ? Double.NaN : d.getStandardDeviation());
            low.append(d.getN() == 0 ? Double.NaN : (double) below / d.getN());
        }
        return Table.create("CE scores by response side", side, n, mean, median, sd, low);
    }

    /**
     * ROC of the CE score (1 − s_t ranks tokens, low s_t = predicted critical) against rollout labels, pooled
     * over the probed tokens of the scored rollouts: threshold, fpr, tpr, from (0, 0) to (1, 1); tied scores
     * move together. Empty when one class is missing.
     */
    public static Table roc(RunTables tables, RolloutProbe.Rule rule, Agreement.Labels labels) {
        List<double[]> pts = new ArrayList<>();   // (1 - s, label)
        for (RunTables.ScoredRollout sr : tables.scoredRollouts()) {
            RolloutProbe.Result r = sr.rollout();
            int critical = rule == RolloutProbe.Rule.OFFICIAL ? r.criticalOfficial() : r.critical();
            boolean[] lab = Agreement.labels(r, critical, labels);
            for (int i = 0; i < lab.length; i++) pts.add(new double[] {1 - sr.s()[r.tokens().get(i).position()], lab[i] ? 1 : 0});
        }
        return rocTable(pts, "ROC of CE vs rollout (" + rule.name().toLowerCase() + ", " + labels.name().toLowerCase() + ")");
    }

    /**
     * Organism v2: ROC of the CE score (1 − s_t) against the planted trap tokens, pooled over every token of the
     * rejected responses that fell into their problem's trap (the planted token positive, the others negative;
     * {@link ctlab.critical.PlantedAgreement}'s population). Empty when the run has no such response.
     */
    public static Table plantedRoc(RunTables tables) {
        List<double[]> pts = new ArrayList<>();
        for (ctlab.data.ScoredPair sp : tables.data().scoredPairs()) {
            ctlab.data.Planted p = sp.pair().rejectedPlanted();
            if (p == null || !p.fellIn()) continue;
            double[] s = sp.rejectedScores();
            for (int t = 0; t < s.length; t++) pts.add(new double[] {1 - s[t], t == p.position() ? 1 : 0});
        }
        return rocTable(pts, "ROC of CE vs the planted trap tokens");
    }

    /**
     * Organism v2: CE against the planted trap tokens ({@link ctlab.critical.PlantedAgreement#ofRejected}) as a
     * one-row table (trajectories, pooled_auroc, precision_at_1, within_one); no rows when the run has no ground truth.
     */
    public static Table plantedAgreement(RunTables tables) {
        var sum = ctlab.critical.PlantedAgreement.ofRejected(tables.data().scoredPairs());
        IntColumn n = IntColumn.create("trajectories");
        DoubleColumn auroc = DoubleColumn.create("pooled_auroc"), p1 = DoubleColumn.create("precision_at_1"),
                near = DoubleColumn.create("within_one");
        if (sum != null) {
            n.append(sum.trajectories());
            auroc.append(sum.pooledAuroc());
            p1.append(sum.precisionAt1());
            near.append(sum.withinOne());
        }
        return Table.create("CE vs the planted trap tokens (rejected responses that fell into the trap)", n, auroc, p1, near);
    }

    /** ROC points (threshold_s, fpr, tpr) of (score, label) pairs, from (0, 0) to (1, 1); tied scores move together. */
    private static Table rocTable(List<double[]> pts, String name) {
        DoubleColumn thr = DoubleColumn.create("threshold_s"), fpr = DoubleColumn.create("fpr"), tpr = DoubleColumn.create("tpr");
        long pos = pts.stream().filter(p -> p[1] == 1).count(), neg = pts.size() - pos;
        if (pos > 0 && neg > 0) {
            pts.sort((a, b) -> Double.compare(b[0], a[0]));
            thr.append(Double.NaN);
            fpr.append(0);
            tpr.append(0);
            int tp = 0, fp = 0;
            for (int i = 0; i < pts.size(); i++) {
                if (pts.get(i)[1] == 1) tp++; else fp++;
                if (i + 1 == pts.size() || pts.get(i + 1)[0] != pts.get(i)[0]) {
                    thr.append(1 - pts.get(i)[0]);
                    fpr.append((double) fp / neg);
                    tpr.append((double) tp / pos);
                }
            }
        }
        return Table.create(name, thr, fpr, tpr);
    }

    /**
     * CE-vs-rollout agreement for both critical-token rules: trajectories, with_critical, precision_at_1 (the
     * lowest-s_t token is the critical token), precision_within_1 (within ±1 position), pooled and mean AUROC of
     * 1 − s_t against the critical-token label over the probed tokens ({@link Agreement}).
     */
    public static Table agreement(RunTables tables) {
        List<double[]> s = new ArrayList<>();
        List<RolloutProbe.Result> rs = new ArrayList<>();
        for (RunTables.ScoredRollout sr : tables.scoredRollouts()) {
            s.add(sr.s());
            rs.add(sr.rollout());
        }
        StringColumn rule = StringColumn.create("rule");
        IntColumn n = IntColumn.create("trajectories"), wc = IntColumn.create("with_critical");
        DoubleColumn p1 = DoubleColumn.create("precision_at_1"), pw = DoubleColumn.create("precision_within_1"),
                pooled = DoubleColumn.create("pooled_auroc"), mean = DoubleColumn.create("mean_auroc");
        for (RolloutProbe.Rule r : RolloutProbe.Rule.values()) {
            Agreement.Summary sum = rs.isEmpty() ? new Agreement.Summary(0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN)
                    : Agreement.summarize(s, rs, r, Agreement.Labels.CRITICAL);
            rule.append(r == RolloutProbe.Rule.OFFICIAL ? "official" : "first drop");
            n.append(sum.trajectories());
            wc.append(sum.withCritical());
            p1.append(sum.exactRate());
            pw.append(sum.withinOneRate());
            pooled.append(sum.pooledAuroc());
            mean.append(sum.meanAuroc());
        }
        return Table.create("CE vs rollout agreement", rule, n, wc, p1, pw, pooled, mean);
    }

    /**
     * pass@k with vs without the critical token (paper Fig. 1/2): for k = 1..K (K = the rollouts' k), the mean
     * over rolled-out trajectories that have a critical token (our rule) of pass@k of the continuations that
     * keep it and of those that replace it; plus the trajectory count.
     */
    public static Table passAtK(List<RolloutProbe.Result> rollouts) {
        List<RolloutProbe.Result> withCritical = rollouts.stream().filter(r -> r.critical() >= 0).toList();
        int maxK = withCritical.stream().mapToInt(RolloutProbe.Result::k).min().orElse(0);
        IntColumn k = IntColumn.create("k"), n = IntColumn.create("trajectories");
        DoubleColumn with = DoubleColumn.create("pass_with"), without = DoubleColumn.create("pass_without");
        for (int kk = 1; kk <= maxK; kk++) {
            double w = 0, wo = 0;
            for (RolloutProbe.Result r : withCritical) {
                w += r.passAtKWith()[kk - 1];
                wo += r.passAtKWithout()[kk - 1];
            }
            k.append(kk);
            with.append(w / withCritical.size());
            without.append(wo / withCritical.size());
            n.append(withCritical.size());
        }
        return Table.create("pass@k with vs without the critical token", k, with, without, n);
    }

    /** The last logged step of each method of {@link RunTables#trainingMetrics()} (methods in table order). */
    public static Table lastLoggedStep(Table training) {
        Table last = training.emptyCopy();
        last.setName("last logged step per method");
        for (String m : new java.util.LinkedHashSet<>(training.stringColumn("method").asList())) {
            Table rows = training.where(training.stringColumn("method").isEqualTo(m));
            last.append(rows.rows(rows.rowCount() - 1));
        }
        return last;
    }

    /** The base and DPO reference names used by {@link #methodComparison}. */
    public static final String BASE = "base", DPO = "dpo";

    /**
     * Table 1 analogue: per evaluated method, n, correct, accuracy with its 95% Wilson interval, and against the
     * base model and against DPO (when evaluated) the accuracy difference, its 95% paired bootstrap interval and
     * the exact McNemar p-value ({@link PairedComparison}). Methods must be evaluated on the same problems.
     *
     * @param seed bootstrap seed (same seed → same intervals)
     */
    public static Table methodComparison(Map<String, List<EvalOutcome>> evals, long seed) {
        StringColumn method = StringColumn.create("method");
        IntColumn n = IntColumn.create("n"), correct = IntColumn.create("correct");
        DoubleColumn acc = DoubleColumn.create("accuracy"), lo = DoubleColumn.create("wilson_lo"),
                hi = DoubleColumn.create("wilson_hi");
        Map<String, DoubleColumn[]> vs = new LinkedHashMap<>();
        for (String ref : List.of(BASE, DPO)) {
            if (!evals.containsKey(ref)) continue;
            vs.put(ref, new DoubleColumn[] {DoubleColumn.create("diff_vs_" + ref), DoubleColumn.create("diff_lo_vs_" + ref),
                    DoubleColumn.create("diff_hi_vs_" + ref), DoubleColumn.create("mcnemar_p_vs_" + ref)});
        }
        List<String> ids = null;
        String first = null;
        Map<String, boolean[]> outcomes = new LinkedHashMap<>();
        List<Map.Entry<String, List<EvalOutcome>>> ordered = new ArrayList<>(evals.entrySet());
        ordered.sort(java.util.Comparator.comparingInt((Map.Entry<String, List<EvalOutcome>> e) -> methodRank(e.getKey()))
                .thenComparing(Map.Entry::getKey));
        for (var e : ordered) {
            Map<String, Boolean> byId = new HashMap<>();
            for (EvalOutcome r : e.getValue()) {
                if (byId.put(r.problemId(), r.correct()) != null) {
                    throw new CtlabException("eval-" + e.getKey() + ".jsonl: problem '" + r.problemId() + "' appears twice");
                }
            }
            if (ids == null) {
                ids = e.getValue().stream().map(EvalOutcome::problemId).sorted().toList();
                first = e.getKey();
            } else if (!new java.util.HashSet<>(ids).equals(byId.keySet())) {
                throw new CtlabException("eval-" + e.getKey() + ".jsonl: evaluated on other problems than eval-" + first
                        + ".jsonl (" + byId.size() + " vs " + ids.size() + "); methods must share the test problems");
            }
            boolean[] o = new boolean[ids.size()];
            for (int i = 0; i < o.length; i++) o[i] = byId.get(ids.get(i));
            outcomes.put(e.getKey(), o);
        }
        for (var e : outcomes.entrySet()) {
            if (e.getValue().length == 0) continue;
            Accuracy a = Accuracy.of(e.getValue());
            method.append(e.getKey());
            n.append(a.total());
            correct.append(a.correct());
            acc.append(a.estimate());
            lo.append(a.lower());
            hi.append(a.upper());
            for (var ref : vs.entrySet()) {
                DoubleColumn[] c = ref.getValue();
                if (ref.getKey().equals(e.getKey())) {
                    Arrays.stream(c).forEach(DoubleColumn::appendMissing);
                    continue;
                }
                PairedComparison pc = PairedComparison.of(outcomes.get(ref.getKey()), e.getValue(), seed);
                c[0].append(pc.difference());
                c[1].append(pc.ciLower());
                c[2].append(pc.ciUpper());
                c[3].append(pc.mcnemarP());
            }
        }
        Table t = Table.create("method comparison", method, n, correct, acc, lo, hi);
        vs.values().forEach(t::addColumns);
        return t;
    }

    /** Subset names of {@link #trapSplit} and {@link #seedTable}: every problem, those without a trap, those with one. */
    public static final String ALL = "all", NO_TRAP = "no trap", TRAP = "trap";

    /**
     * Organism v2's Table 1 split for one run: per evaluated method (Table 1 order) and subset ({@value #ALL},
     * {@value #NO_TRAP}, {@value #TRAP}: the eval record's {@code trap} family is null / set), n, correct,
     * accuracy and its 95% Wilson interval ({@code lower}, {@code upper}). A subset no problem falls in is left out.
     */
    public static Table trapSplit(Map<String, List<EvalOutcome>> evals) {
        StringColumn method = StringColumn.create("method"), subset = StringColumn.create("subset");
        IntColumn n = IntColumn.create("n"), correct = IntColumn.create("correct");
        DoubleColumn acc = DoubleColumn.create("accuracy"), lo = DoubleColumn.create("lower"), hi = DoubleColumn.create("upper");
        List<String> methods = new ArrayList<>(evals.keySet());
        methods.sort(java.util.Comparator.comparingInt(Analyses::methodRank).thenComparing(m -> m));
        for (String m : methods) {
            for (String sub : List.of(ALL, NO_TRAP, TRAP)) {
                int c = 0, t = 0;
                for (EvalOutcome r : evals.get(m)) {
                    if (sub.equals(NO_TRAP) && r.trap() != null || sub.equals(TRAP) && r.trap() == null) continue;
                    t++;
                    if (r.correct()) c++;
                }
                if (t == 0) continue;
                Accuracy a = Accuracy.of(c, t);
                method.append(m);
                subset.append(sub);
                n.append(t);
                correct.append(c);
                acc.append(a.estimate());
                lo.append(a.lower());
                hi.append(a.upper());
            }
        }
        return Table.create("accuracy on problems with and without a trap (95% Wilson intervals)", method, subset, n, correct, acc, lo, hi);
    }

    /**
     * The multi-seed Table 1 analogue from an {@code ablate --split-by trap} result ({@code ablation.json}, its first
     * grid point): per method and subset ({@value #ALL}, {@value #NO_TRAP}, {@value #TRAP}), the number of seeds, the
     * mean accuracy over seeds and its 95% Student-t interval ({@code lower}, {@code upper}; missing with one seed).
     * A seed's trap accuracy pools the trap families' problems (weighted by their problem counts). Without a split
     * only {@value #ALL} rows are given.
     */
    public static Table seedTable(java.nio.file.Path ablationJson) {
        com.fasterxml.jackson.databind.JsonNode root;
        try {
            root = ctlab.io.Jsonl.MAPPER.readTree(ablationJson.toFile());
        } catch (java.io.IOException e) {
            throw new CtlabException(ablationJson + ": cannot read the ablation result (" + e.getMessage() + ")");
        }
        com.fasterxml.jackson.databind.JsonNode points = root == null ? null : root.get("points");
        if (points == null || !points.isArray() || points.isEmpty() || !points.get(0).has("methods"))
            throw new CtlabException(ablationJson + ": not an ablate result (no points[0].methods)");
        StringColumn method = StringColumn.create("method"), subset = StringColumn.create("subset");
        IntColumn seeds = IntColumn.create("seeds");
        DoubleColumn acc = DoubleColumn.create("accuracy"), lo = DoubleColumn.create("lower"), hi = DoubleColumn.create("upper");
        for (com.fasterxml.jackson.databind.JsonNode row : points.get(0).get("methods")) {
            String m = row.path("method").asText();
            com.fasterxml.jackson.databind.JsonNode all = row.path("accuracy").path("per_seed");
            double[] perSeed = new double[all.size()];
            for (int s = 0; s < perSeed.length; s++) perSeed[s] = all.get(s).asDouble();
            Map<String, double[]> bySubset = new LinkedHashMap<>();
            bySubset.put(ALL, perSeed);
            com.fasterxml.jackson.databind.JsonNode subsets = row.get("subsets");
            if (subsets != null && subsets.isObject()) {
                int n = perSeed.length;
                double[][] sums = new double[2][n], counts = new double[2][n];   // [no trap, trap] per seed
                for (var it = subsets.fields(); it.hasNext(); ) {
                    var e = it.next();
                    int g = e.getKey().equals("(none)") ? 0 : 1;   // GridAblation's value for a problem without a trap
                    for (int s = 0; s < n && s < e.getValue().path("per_seed").size(); s++) {
                        com.fasterxml.jackson.databind.JsonNode a = e.getValue().path("per_seed").get(s);
                        if (a.isNull()) continue;
                        int k = e.getValue().path("problems").path(s).asInt();
                        sums[g][s] += a.asDouble() * k;
                        counts[g][s] += k;
                    }
                }
                for (int g = 0; g < 2; g++) {
                    List<Double> vals = new ArrayList<>();
                    for (int s = 0; s < n; s++) if (counts[g][s] > 0) vals.add(sums[g][s] / counts[g][s]);
                    if (!vals.isEmpty()) bySubset.put(g == 0 ? NO_TRAP : TRAP, vals.stream().mapToDouble(Double::doubleValue).toArray());
                }
            }
            for (var e : bySubset.entrySet()) {
                if (e.getValue().length == 0) continue;
                ctlab.stats.SeedMean sm = ctlab.stats.SeedMean.of(e.getValue()).clippedTo(0, 1);
                method.append(m);
                subset.append(e.getKey());
                seeds.append(e.getValue().length);
                acc.append(sm.mean());
                lo.append(sm.lower());
                hi.append(sm.upper());
            }
        }
        return Table.create("accuracy over seeds (mean, 95% t interval)", method, subset, seeds, acc, lo, hi);
    }

    /** The paper's Table 1 order: base, then the losses as {@link LossType#inTableOrder()} lists them. */
    static final List<String> METHOD_ORDER = java.util.stream.Stream.concat(java.util.stream.Stream.of(BASE),
            LossType.inTableOrder().stream().map(LossType::configName)).toList();

    /** Position of a method in {@link #METHOD_ORDER}; methods not in it come after all of them. */
    public static int methodRank(String method) {
        int i = METHOD_ORDER.indexOf(method);
        return i < 0 ? METHOD_ORDER.size() : i;
    }
}

package ctlab.critical;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import org.apache.commons.math3.stat.ranking.NaNStrategy;
import org.apache.commons.math3.stat.ranking.NaturalRanking;
import org.apache.commons.math3.stat.ranking.TiesStrategy;

import java.util.ArrayList;
import java.util.List;

/**
 * How well contrastive-estimation scores s_t find the rollout critical tokens (paper §3 claim that low s_t
 * marks critical tokens): AUROC of the score (1 − s_t) against rollout labels, and whether the lowest-s_t
 * token is the critical one.
 */
public final class Agreement {
    private Agreement() {}

    /** Which tokens count as positives for the AUROC. */
    public enum Labels {
        /** only the critical token (one positive per trajectory; AUROC = its normalised rank) */
        CRITICAL,
        /** every probed token whose "with" rate is below the previous probed token's (or the baseline's) */
        DROP
    }

    /**
     * AUROC = P(score of a positive > score of a negative) + ½ P(tie): the Mann-Whitney U of the positives over
     * n₊·n₋, with tied scores given their average rank. NaN when either class is empty.
     */
    public static double auroc(double[] scores, boolean[] labels) {
        if (scores.length != labels.length) {
            throw new IllegalArgumentException(scores.length + " scores but " + labels.length + " labels");
        }
        long pos = 0;
        for (boolean l : labels) if (l) pos++;
        long neg = labels.length - pos;
        if (pos == 0 || neg == 0) return Double.NaN;
        double[] ranks = new NaturalRanking(NaNStrategy.FAILED, TiesStrategy.AVERAGE).rank(scores);  // 1-based
        double rankSum = 0;
        for (int i = 0; i < ranks.length; i++) if (labels[i]) rankSum += ranks[i];
        double u = rankSum - pos * (pos + 1) / 2.0;
        return u / ((double) pos * neg);
    }

    /** AUROC of (1 − s_t) against the labels: low CE score predicts a positive. */
    public static double aurocOfCe(double[] s, boolean[] labels) {
        double[] score = new double[s.length];
        for (int i = 0; i < s.length; i++) score[i] = 1 - s[i];
        return auroc(score, labels);
    }

    /** Position of the lowest s_t (the earliest on ties); -1 for an empty array. */
    public static int argMin(double[] s) {
        int best = -1;
        for (int i = 0; i < s.length; i++) if (best < 0 || s[i] < s[best]) best = i;
        return best;
    }

    /** Per-trajectory agreement; {@code auroc} is NaN when the labels have one class only. */
    @JsonPropertyOrder({"trajectory_id", "critical", "lowest_s", "exact", "within_one", "auroc", "positives", "negatives"})
    public record TrajectoryAgreement(@JsonProperty("trajectory_id") String trajectoryId,
                                      @JsonProperty("critical") int critical,
                                      @JsonProperty("lowest_s") int lowestS,
                                      @JsonProperty("exact") boolean exact,
                                      @JsonProperty("within_one") boolean withinOne,
                                      @JsonProperty("auroc") double auroc,
                                      @JsonProperty("positives") int positives,
                                      @JsonProperty("negatives") int negatives) {}

    /**
     * Compares CE scores of one trajectory's response tokens ({@code s[j]} for response token j, the layout of
     * {@code ScoredSide} response scores) with its rollout result.
     *
     * @param rule   which critical token to use
     * @param labels which probed tokens are positives for the AUROC (only probed positions are scored)
     */
    public static TrajectoryAgreement of(double[] s, RolloutProbe.Result r, RolloutProbe.Rule rule, Labels labels) {
        if (s.length != r.responseLength()) {
            throw new IllegalArgumentException("trajectory '" + r.trajectoryId() + "': " + s.length
                    + " CE scores for a response of " + r.responseLength() + " tokens");
        }
        int critical = rule == RolloutProbe.Rule.OFFICIAL ? r.criticalOfficial() : r.critical();
        boolean[] lab = labels(r, critical, labels);
        double[] probed = new double[r.tokens().size()];
        int pos = 0;
        for (int i = 0; i < probed.length; i++) {
            probed[i] = s[r.tokens().get(i).position()];
            if (lab[i]) pos++;
        }
        int low = argMin(s);
        return new TrajectoryAgreement(r.trajectoryId(), critical, low, critical >= 0 && low == critical,
                critical >= 0 && Math.abs(low - critical) <= 1, aurocOfCe(probed, lab), pos, lab.length - pos);
    }

    /** Labels of the probed tokens, in the result's row order. */
    public static boolean[] labels(RolloutProbe.Result r, int critical, Labels kind) {
        List<RolloutProbe.TokenRow> rows = r.tokens();
        boolean[] out = new boolean[rows.size()];
        double before = r.hasBaseline() ? (double) r.baselineCorrect() / r.k() : Double.NaN;
        for (int i = 0; i < out.length; i++) {
            RolloutProbe.TokenRow row = rows.get(i);
            out[i] = switch (kind) {
                case CRITICAL -> row.position() == critical;
                case DROP -> !Double.isNaN(before) && row.withRate() < before;
            };
            before = row.withRate();
        }
        return out;
    }

    /** Over many trajectories: exact and ±1 hit rates (over those with a critical token), pooled AUROC. */
    @JsonPropertyOrder({"trajectories", "with_critical", "exact_rate", "within_one_rate", "pooled_auroc", "mean_auroc"})
    public record Summary(@JsonProperty("trajectories") int trajectories,
                          @JsonProperty("with_critical") int withCritical,
                          @JsonProperty("exact_rate") double exactRate,
                          @JsonProperty("within_one_rate") double withinOneRate,
                          @JsonProperty("pooled_auroc") double pooledAuroc,
                          @JsonProperty("mean_auroc") double meanAuroc) {}

    /**
     * @param scores CE scores per trajectory, same order as {@code results}
     */
    public static Summary summarize(List<double[]> scores, List<RolloutProbe.Result> results, RolloutProbe.Rule rule,
                                    Labels labels) {
        if (scores.size() != results.size()) throw new IllegalArgumentException("one score array per result");
        int withCritical = 0, exact = 0, within = 0, aucCount = 0;
        double aucSum = 0;
        List<Double> pooledScores = new ArrayList<>();
        List<Boolean> pooledLabels = new ArrayList<>();
        for (int t = 0; t < results.size(); t++) {
            RolloutProbe.Result r = results.get(t);
            TrajectoryAgreement a = of(scores.get(t), r, rule, labels);
            if (a.critical() >= 0) {
                withCritical++;
                if (a.exact()) exact++;
                if (a.withinOne()) within++;
            }
            if (!Double.isNaN(a.auroc())) {
                aucSum += a.auroc();
                aucCount++;
            }
            boolean[] lab = labels(r, a.critical(), labels);
            for (int i = 0; i < lab.length; i++) {
                pooledScores.add(1 - scores.get(t)[r.tokens().get(i).position()]);
                pooledLabels.add(lab[i]);
            }
        }
        double[] ps = pooledScores.stream().mapToDouble(Double::doubleValue).toArray();
        boolean[] pl = new boolean[pooledLabels.size()];
        for (int i = 0; i < pl.length; i++) pl[i] = pooledLabels.get(i);
        return new Summary(results.size(), withCritical,
                withCritical == 0 ? Double.NaN : (double) exact / withCritical,
                withCritical == 0 ? Double.NaN : (double) within / withCritical,
                auroc(ps, pl), aucCount == 0 ? Double.NaN : aucSum / aucCount);
    }
}

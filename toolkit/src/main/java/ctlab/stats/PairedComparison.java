package ctlab.stats;

import org.apache.commons.math3.stat.descriptive.rank.Percentile;
import org.apache.commons.math3.stat.inference.AlternativeHypothesis;
import org.apache.commons.math3.stat.inference.BinomialTest;

import java.util.SplittableRandom;

/**
 * Two runs graded on the same problems (e.g. a baseline and a cDPO policy): the exact McNemar test (a
 * two-sided binomial test with p = 1/2 on the discordant pairs, commons-math3) and a seeded paired
 * bootstrap percentile interval for the accuracy difference B − A (problems resampled with replacement,
 * both runs' outcomes kept together). Same inputs and seed → same numbers.
 */
public record PairedComparison(int n, double accuracyA, double accuracyB, double difference,
                               int onlyA, int onlyB, double mcnemarP,
                               double ciLower, double ciUpper, double confidence, int resamples, long seed) {

    public static final int DEFAULT_RESAMPLES = 10_000;

    /** 95% interval, 10 000 resamples. */
    public static PairedComparison of(boolean[] a, boolean[] b, long seed) {
        return of(a, b, 0.95, DEFAULT_RESAMPLES, seed);
    }

    public static PairedComparison of(boolean[] a, boolean[] b, double confidence, int resamples, long seed) {
        if (a.length != b.length) throw new IllegalArgumentException("runs differ in length: " + a.length + " vs " + b.length);
        if (a.length == 0) throw new IllegalArgumentException("no problems to compare");
        if (!(confidence > 0 && confidence < 1)) throw new IllegalArgumentException("confidence must be in (0, 1)");
        if (resamples < 100) throw new IllegalArgumentException("need at least 100 resamples, got " + resamples);
        int n = a.length, correctA = 0, correctB = 0, onlyA = 0, onlyB = 0;
        for (int i = 0; i < n; i++) {
            if (a[i]) correctA++;
            if (b[i]) correctB++;
            if (a[i] && !b[i]) onlyA++;
            if (b[i] && !a[i]) onlyB++;
        }
        double[] diffs = new double[resamples];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int r = 0; r < resamples; r++) {
            int d = 0;  // (#B correct − #A correct) in the resample
            for (int j = 0; j < n; j++) {
                int i = rng.nextInt(n);
                d += (b[i] ? 1 : 0) - (a[i] ? 1 : 0);
            }
            diffs[r] = d / (double) n;
        }
        double alpha = 1 - confidence;
        Percentile percentile = new Percentile().withEstimationType(Percentile.EstimationType.R_7);  // numpy's default
        percentile.setData(diffs);
        return new PairedComparison(n, correctA / (double) n, correctB / (double) n, (correctB - correctA) / (double) n,
                onlyA, onlyB, mcnemarExactP(onlyA, onlyB),
                percentile.evaluate(100 * alpha / 2), percentile.evaluate(100 * (1 - alpha / 2)), confidence, resamples, seed);
    }

    /** Exact McNemar p-value: two-sided binomial test of {@code onlyA} successes in {@code onlyA + onlyB} at 1/2. */
    public static double mcnemarExactP(int onlyA, int onlyB) {
        int discordant = onlyA + onlyB;
        if (discordant == 0) return 1.0;
        double p = new BinomialTest().binomialTest(discordant, onlyA, 0.5, AlternativeHypothesis.TWO_SIDED);
        return Math.min(1.0, p);
    }

    /**
     * Seed-pooled paired test: exact McNemar on the discordant counts summed over seeds, i.e. over every (seed,
     * problem) pair. This is the Cochran–Mantel–Haenszel test with each matched pair as its own stratum (Agresti,
     * Categorical Data Analysis, 3rd ed., 2013, §11.1.4: with pairs as strata the CMH statistic is McNemar's), here
     * in its exact (conditional binomial) form. It treats the pairs as independent; the same problem under several
     * seeds shares its difficulty, so when a difference sits on a few problems that every seed flips, this p is
     * smaller than a problem-clustered test would give: read it with the per-seed p-values and the interval over seeds.
     */
    public static double pooledMcNemarP(int[] onlyA, int[] onlyB) {
        if (onlyA.length != onlyB.length) throw new IllegalArgumentException("seed counts differ: " + onlyA.length + " vs " + onlyB.length);
        int a = 0, b = 0;
        for (int i = 0; i < onlyA.length; i++) {
            a += onlyA[i];
            b += onlyB[i];
        }
        return mcnemarExactP(a, b);
    }

    @Override public String toString() {
        return String.format(java.util.Locale.ROOT,
                "n=%d  A %.1f%%  B %.1f%%  B-A %+.1f pts [%+.1f, %+.1f] (%.0f%% paired bootstrap, %d resamples, seed %d)"
                        + "  McNemar exact p=%.4g (A only %d, B only %d)",
                n, 100 * accuracyA, 100 * accuracyB, 100 * difference, 100 * ciLower, 100 * ciUpper,
                100 * confidence, resamples, seed, mcnemarP, onlyA, onlyB);
    }
}

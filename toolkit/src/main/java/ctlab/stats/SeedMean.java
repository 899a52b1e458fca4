package ctlab.stats;

import org.apache.commons.math3.distribution.TDistribution;

/**
 * The mean of one number per seed (e.g. each seed's accuracy) with a Student-t interval over seeds:
 * mean ± t_{n−1, 1−α/2} · s / √n (s the sample standard deviation). Seeds are the replicates here, so the interval
 * says how much a method's accuracy moves with the training randomness, not with the choice of test problems.
 * One seed has no spread to estimate: {@code lower} and {@code upper} are NaN. A bounded quantity (an accuracy,
 * a pass rate) gets its interval cut to the bounds with {@link #clippedTo}: the t-interval is symmetric and can
 * reach past 100% when the seeds sit near it.
 */
public record SeedMean(double[] values, double mean, double sd, double lower, double upper, double confidence) {

    /** 95% interval. */
    public static SeedMean of(double... values) { return of(values, 0.95); }

    public static SeedMean of(double[] values, double confidence) {
        if (values.length == 0) throw new IllegalArgumentException("no values");
        if (!(confidence > 0 && confidence < 1)) throw new IllegalArgumentException("confidence must be in (0, 1)");
        int n = values.length;
        double mean = 0;
        for (double v : values) mean += v / n;
        if (n == 1) return new SeedMean(values.clone(), mean, Double.NaN, Double.NaN, Double.NaN, confidence);
        double ss = 0;
        for (double v : values) ss += (v - mean) * (v - mean);
        double sd = Math.sqrt(ss / (n - 1));
        double half = new TDistribution(n - 1).inverseCumulativeProbability(1 - (1 - confidence) / 2) * sd / Math.sqrt(n);
        return new SeedMean(values.clone(), mean, sd, mean - half, mean + half, confidence);
    }

    /** The same mean with the interval cut to [lo, hi] (NaN bounds stay NaN). */
    public SeedMean clippedTo(double lo, double hi) {
        return new SeedMean(values.clone(), mean, sd, Double.isNaN(lower) ? lower : Math.max(lo, lower),
                Double.isNaN(upper) ? upper : Math.min(hi, upper), confidence);
    }
}

package ctlab.stats;

import org.apache.commons.math3.stat.interval.ConfidenceInterval;
import org.apache.commons.math3.stat.interval.WilsonScoreInterval;

/**
 * An accuracy {@code correct / total} with its Wilson score interval (commons-math3), which stays inside
 * [0, 1] and behaves at 0% and 100% where the normal approximation does not.
 */
public record Accuracy(int correct, int total, double estimate, double lower, double upper, double confidence) {
    public Accuracy {
        if (total <= 0) throw new IllegalArgumentException("total must be positive, got " + total);
        if (correct < 0 || correct > total) throw new IllegalArgumentException("correct " + correct + " not in [0, " + total + "]");
        if (!(confidence > 0 && confidence < 1)) throw new IllegalArgumentException("confidence must be in (0, 1)");
    }

    /** 95% Wilson interval. */
    public static Accuracy of(int correct, int total) { return of(correct, total, 0.95); }

    public static Accuracy of(int correct, int total, double confidence) {
        if (total <= 0) throw new IllegalArgumentException("total must be positive, got " + total);
        ConfidenceInterval ci = new WilsonScoreInterval().createInterval(total, correct, confidence);
        // Clamp rounding noise at the ends (0/n and n/n give bounds of exactly 0 and 1 in exact arithmetic).
        double lower = correct == 0 ? 0.0 : Math.max(0.0, ci.getLowerBound());
        double upper = correct == total ? 1.0 : Math.min(1.0, ci.getUpperBound());
        return new Accuracy(correct, total, correct / (double) total, lower, upper, confidence);
    }

    /** Accuracy of a list of outcomes. */
    public static Accuracy of(boolean[] outcomes) {
        int c = 0;
        for (boolean o : outcomes) if (o) c++;
        return of(c, outcomes.length);
    }

    @Override public String toString() {
        return String.format(java.util.Locale.ROOT, "%.1f%% [%.1f, %.1f] (%d/%d, %.0f%% Wilson)",
                100 * estimate, 100 * lower, 100 * upper, correct, total, 100 * confidence);
    }
}

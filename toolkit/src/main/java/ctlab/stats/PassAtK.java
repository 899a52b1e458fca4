package ctlab.stats;

/**
 * The unbiased pass@k estimator of Chen et al. 2021 (Codex), {@code 1 - C(n-c, k) / C(n, k)} for n samples
 * of which c are correct, computed as {@code 1 - prod_{i=n-c+1}^{n} (1 - k/i)} so it neither overflows nor
 * loses precision for n in the hundreds.
 */
public final class PassAtK {
    private PassAtK() {}

    public static double estimate(int n, int c, int k) {
        if (n <= 0) throw new IllegalArgumentException("n must be positive, got " + n);
        if (c < 0 || c > n) throw new IllegalArgumentException("c " + c + " not in [0, " + n + "]");
        if (k < 1 || k > n) throw new IllegalArgumentException("k " + k + " not in [1, " + n + "]");
        if (n - c < k) return 1.0;  // every k-subset contains a correct sample
        double allWrong = 1.0;
        for (int i = n - c + 1; i <= n; i++) allWrong *= 1.0 - (double) k / i;
        return 1.0 - allWrong;
    }

    /** Mean pass@k over problems, {@code n[i]} samples and {@code c[i]} correct for problem i. */
    public static double mean(int[] n, int[] c, int k) {
        if (n.length != c.length || n.length == 0) throw new IllegalArgumentException("need equal, non-empty n and c");
        double sum = 0;
        for (int i = 0; i < n.length; i++) sum += estimate(n[i], c[i], k);
        return sum / n.length;
    }
}

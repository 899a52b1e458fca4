package ctlab.critical;

/**
 * The unbiased pass@k estimator of Chen et al. 2021 (Codex paper, eq. 1): with n samples of which c are
 * correct, pass@k = 1 − C(n−c, k) / C(n, k), computed as 1 − Π_{i=n−c+1..n} (1 − k/i) to avoid big
 * binomials. Like the official rollout analysis, k larger than n is clamped to n.
 *
 * <p>Private to the probe until {@code ctlab.stats} (tasks branch) lands; then this should delegate there.
 */
final class PassAtK {
    private PassAtK() {}

    static double estimate(int n, int c, int k) {
        if (n < 1 || c < 0 || c > n || k < 1) throw new IllegalArgumentException("pass@k needs 0 <= c <= n, n >= 1, k >= 1");
        k = Math.min(k, n);
        if (n - c < k) return 1.0;
        double allWrong = 1.0;
        for (int i = n - c + 1; i <= n; i++) allWrong *= 1.0 - (double) k / i;
        return 1.0 - allWrong;
    }

    /** pass@1..maxK for one (n, c). */
    static double[] curve(int n, int c, int maxK) {
        double[] out = new double[maxK];
        for (int k = 1; k <= maxK; k++) out[k - 1] = estimate(n, c, k);
        return out;
    }
}

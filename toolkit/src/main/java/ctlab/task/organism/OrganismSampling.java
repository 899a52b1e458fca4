package ctlab.task.organism;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ctlab.model.KvCache;
import ctlab.model.LlamaModel;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The minimal seeded temperature sampling the organism's checks need (the full batched sampler with top-p
 * and stop strings is {@code ctlab.sample}'s job). Runs on the engine's KV-cache prefill/step API; the
 * softmax and the draw happen in Java with a SplittableRandom, so the same seed gives the same samples
 * whatever the batch composition's effect on thread scheduling. Temperature 0 is greedy (argmax).
 */
public final class OrganismSampling {
    private OrganismSampling() {}

    /**
     * Generates a continuation for each prompt (token ids without padding). A row stops after {@code eosId},
     * which is included in its output.
     */
    public static List<int[]> generate(LlamaModel model, List<int[]> prompts, int maxNewTokens, int eosId,
                                       double temperature, long seed) {
        if (temperature < 0 || !Double.isFinite(temperature))
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        int b = prompts.size();
        int t = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        if (t == 0) throw new IllegalArgumentException("empty prompt");
        long[] ids = new long[b * t];
        float[] mask = new float[b * t];
        for (int r = 0; r < b; r++) {                      // left padding: prompts right-aligned
            int[] p = prompts.get(r);
            for (int j = 0; j < p.length; j++) {
                ids[r * t + (t - p.length) + j] = p[j];
                mask[r * t + (t - p.length) + j] = 1f;
            }
        }
        SplittableRandom rng = new SplittableRandom(seed);
        List<List<Integer>> out = new ArrayList<>();
        for (int r = 0; r < b; r++) out.add(new ArrayList<>());
        boolean[] done = new boolean[b];
        try (NDManager m = model.weightsManager().newSubManager(); KvCache cache = model.newCache()) {
            NDArray logits = model.prefill(cache, m.create(ids, new Shape(b, t)), m.create(mask, new Shape(b, t))); // (B, V)
            for (int step = 0; step < maxNewTokens; step++) {
                float[] flat = logits.toFloatArray();       // (B*V)
                logits.close();
                int v = flat.length / b;
                long[] next = new long[b];
                boolean all = true;
                for (int r = 0; r < b; r++) {
                    next[r] = temperature == 0 ? argmax(flat, r * v, v) : draw(flat, r * v, v, temperature, rng);
                    if (!done[r]) {
                        out.get(r).add((int) next[r]);
                        if (next[r] == eosId) done[r] = true;
                    }
                    all &= done[r];
                }
                if (all || step == maxNewTokens - 1) break;
                try (NDManager stepManager = m.newSubManager()) {
                    logits = model.step(cache, stepManager.create(next, new Shape(b)));  // (B, V)
                    logits.attach(m);
                }
            }
        }
        List<int[]> res = new ArrayList<>(b);
        for (List<Integer> l : out) res.add(l.stream().mapToInt(Integer::intValue).toArray());
        return res;
    }

    static int argmax(float[] x, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (x[from + i] > x[from + best]) best = i;
        return best;
    }

    /** One draw from softmax(x / temperature), computed in double with the max subtracted. */
    static int draw(float[] x, int from, int n, double temperature, SplittableRandom rng) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[from + i]);
        double[] w = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) { w[i] = Math.exp((x[from + i] - max) / temperature); sum += w[i]; }
        double u = rng.nextDouble() * sum;
        for (int i = 0; i < n; i++) { u -= w[i]; if (u < 0) return i; }
        return n - 1;
    }
}

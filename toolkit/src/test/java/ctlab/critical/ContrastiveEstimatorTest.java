package ctlab.critical;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** CE scores against a direct double-precision computation of softmax((1+β)z⁺ − βz⁻)[y] on small tensors. */
class ContrastiveEstimatorTest {
    static final int B = 2, T = 3, V = 5;
    NDManager manager;
    float[] pos = new float[B * T * V], neg = new float[B * T * V];
    long[][] targets = {{4, 0, 2}, {1, 3, -100}};
    float[][] mask = {{1, 1, 1}, {1, 1, 0}};

    @BeforeEach void setUp() {
        manager = NDManager.newBaseManager();
        Random r = new Random(7);
        for (int i = 0; i < pos.length; i++) { pos[i] = (float) r.nextGaussian() * 2; neg[i] = (float) r.nextGaussian() * 2; }
    }

    @AfterEach void tearDown() { manager.close(); }

    /** softmax((1+β)z⁺ − βz⁻)[y] at (b, t), in doubles. */
    double direct(int b, int t, long y, double beta) {
        double[] c = new double[V];
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int v = 0; v < V; v++) {
            int i = (b * T + t) * V + v;
            c[v] = (1 + beta) * pos[i] - beta * neg[i];
            max = Math.max(max, c[v]);
        }
        for (int v = 0; v < V; v++) sum += Math.exp(c[v] - max);
        return Math.exp(c[(int) y] - max) / sum;
    }

    @Test void scoresMatchDirectComputation() {
        for (double beta : new double[] {1.0, 0.5, 0.0}) {
            NDArray p = manager.create(pos, new Shape(B, T, V)), n = manager.create(neg, new Shape(B, T, V));
            try (NDArray s = new ContrastiveEstimator(beta).scores(p, n, manager.create(targets), manager.create(mask));
                 NDArray logS = new ContrastiveEstimator(beta).logScores(p, n, manager.create(targets), manager.create(mask))) {
                float[] got = s.toFloatArray(), gotLog = logS.toFloatArray();
                for (int b = 0; b < B; b++)
                    for (int t = 0; t < T; t++) {
                        int k = b * T + t;
                        if (mask[b][t] == 0) {
                            assertEquals(0f, got[k], 0f, "masked position");
                            continue;
                        }
                        double expected = direct(b, t, targets[b][t], beta);
                        assertEquals(expected, got[k], 1e-5, "beta " + beta + " at " + b + "," + t);
                        assertEquals(Math.log(expected), gotLog[k], 1e-4);
                    }
            }
            assertEquals(B * T * V, p.toFloatArray().length, "inputs stay usable after scoring");
        }
    }

    @Test void sequenceScoresShiftByOne() {
        // a sequence of L = 4 tokens: logits at position j score token j+1
        int L = 4;
        float[] pl = new float[L * V], nl = new float[L * V];
        System.arraycopy(pos, 0, pl, 0, L * V);
        System.arraycopy(neg, 0, nl, 0, L * V);
        long[][] ids = {{3, 1, 4, 0}};
        NDArray s = ContrastiveEstimator.official().sequenceScores(manager.create(pl, new Shape(1, L, V)),
                manager.create(nl, new Shape(1, L, V)), manager.create(ids), manager.create(new float[][] {{1, 1, 1, 1}}));
        assertEquals(new Shape(1, L - 1), s.getShape());
        float[] got = s.toFloatArray();
        for (int j = 0; j < L - 1; j++) {
            // position j lies at (b, t) = (j / T, j % T) of the B×T test layout
            double expected = direct(j / T, j % T, ids[0][j + 1], 1.0);
            assertEquals(expected, got[j], 1e-5);
        }
    }

    /** Arrays attached to a manager (DJL keeps them in BaseNDManager.resources). */
    static int attached(NDManager m) throws Exception {
        var field = ai.djl.ndarray.BaseNDManager.class.getDeclaredField("resources");
        field.setAccessible(true);
        return ((java.util.Map<?, ?>) field.get(m)).size();
    }

    @Test void onlyTheResultStaysAttached() throws Exception {
        try (NDManager step = manager.newSubManager()) {
            NDArray p = step.create(pos, new Shape(B, T, V)), n = step.create(neg, new Shape(B, T, V));
            NDArray y = step.create(targets), mk = step.create(mask);
            ContrastiveEstimator ce = ContrastiveEstimator.official();
            int before = attached(step);
            NDArray s = ce.scores(p, n, y, mk);
            assertEquals(before + 1, attached(step), "scores leaves only its (B, T) result");
            NDArray l = ce.logScores(p, n, y, mk);
            assertEquals(before + 2, attached(step), "logScores leaves only its (B, T) result");
            NDArray q = ce.sequenceScores(p, n, y, mk);
            assertEquals(before + 3, attached(step), "sequenceScores leaves only its result");
            assertEquals(new Shape(B, T), s.getShape());
            assertEquals(new Shape(B, T), l.getShape());
            assertEquals(new Shape(B, T - 1), q.getShape());
        }
    }

    @Test void shapeMismatchIsRejected() {
        NDArray p = manager.create(pos, new Shape(B, T, V));
        assertThrows(IllegalArgumentException.class, () -> ContrastiveEstimator.official()
                .scores(p, manager.create(neg, new Shape(B * T, V, 1)), manager.create(targets), manager.create(mask)));
        assertThrows(IllegalArgumentException.class, () -> ContrastiveEstimator.official()
                .scores(p, p, manager.create(new long[] {1, 2}), manager.create(mask)));
        assertThrows(IllegalArgumentException.class, () -> new ContrastiveEstimator(-1));
    }
}

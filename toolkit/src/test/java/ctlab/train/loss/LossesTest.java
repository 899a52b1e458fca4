package ctlab.train.loss;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every loss variant on a tiny batch whose expected values are written out by hand below (scalar arithmetic,
 * independent of the tensor code). Batch: B = 2, chosen width 3, rejected width 2.
 *
 * <pre>
 * Δ⁺ row 0 = [0.5, 0, −1]   (sum −0.5)     Δ⁻ row 0 = [−1, 0]  (sum −1)
 * Δ⁺ row 1 = [0.5, −0.5, ·] (sum 0)        Δ⁻ row 1 = [−1, ·]  (sum −1)     (· = masked)
 * </pre>
 */
class LossesTest {
    static final double TOL = 1e-5;
    static final double LN2 = Math.log(2);
    NDManager manager;

    static final float[][] POLICY_CHOSEN = {{-1, -2, -3}, {-0.5f, -1.5f, 0}};
    static final float[][] REF_CHOSEN = {{-1.5f, -2, -2}, {-1, -1, -7}};
    static final float[][] CHOSEN_MASK = {{1, 1, 1}, {1, 1, 0}};
    static final float[][] POLICY_REJECTED = {{-2, -1}, {-3, -4}};
    static final float[][] REF_REJECTED = {{-1, -1}, {-2, -1}};
    static final float[][] REJECTED_MASK = {{1, 1}, {1, 0}};
    static final float[][] S_CHOSEN = {{0.9f, 0.5f, 0.2f}, {0.6f, 0.3f, 0.7f}};
    static final float[][] S_REJECTED = {{0.25f, 0.8f}, {0.1f, 0.5f}};

    @BeforeEach void open() { manager = NDManager.newBaseManager(); }

    @AfterEach void close() { manager.close(); }

    NDArray m(float[][] v) { return manager.create(v); }

    NDArray t3(float[][][] v) {
        int a = v.length, b = v[0].length, c = v[0][0].length;
        float[] flat = new float[a * b * c];
        for (int i = 0; i < a; i++) for (int j = 0; j < b; j++) System.arraycopy(v[i][j], 0, flat, (i * b + j) * c, c);
        return manager.create(flat, new ai.djl.ndarray.types.Shape(a, b, c));
    }

    PreferenceBatch batch() {
        return PreferenceBatch.of(m(POLICY_CHOSEN), m(POLICY_REJECTED), m(REF_CHOSEN), m(REF_REJECTED),
                m(CHOSEN_MASK), m(REJECTED_MASK)).withWeights(m(S_CHOSEN), m(S_REJECTED));
    }

    static double softplus(double x) { return Math.log1p(Math.exp(x)); }

    /** −log σ(βz) with smoothing ε. */
    static double logistic(double z, double beta, double eps) {
        return (1 - eps) * softplus(-beta * z) + eps * softplus(beta * z);
    }

    LossResult run(LossConfig config, PreferenceBatch b) { return PreferenceLoss.create(config).compute(b); }

    @Test void dpoValueAndTrlMetrics() {
        LossResult r = run(LossConfig.defaults(LossType.DPO).withBeta(0.5), batch());
        // z0 = −0.5 − (−1) = 0.5, z1 = 0 − (−1) = 1
        double expected = (logistic(0.5, 0.5, 0) + logistic(1, 0.5, 0)) / 2;
        assertEquals(expected, r.lossValue(), TOL);
        assertEquals(0.5 * (-0.5 + 0) / 2, r.metric("rewards/chosen"), TOL);
        assertEquals(0.5 * (-1 + -1) / 2, r.metric("rewards/rejected"), TOL);
        assertEquals(1.0, r.metric("rewards/accuracies"), TOL);
        assertEquals(0.5 * (0.5 + 1) / 2, r.metric("rewards/margins"), TOL);
        assertEquals((-6 + -2) / 2.0, r.metric("logps/chosen"), TOL);
        assertEquals((-3 + -3) / 2.0, r.metric("logps/rejected"), TOL);
    }

    @Test void dpoLabelSmoothingIsConservativeForm() {
        LossResult r = run(LossConfig.defaults(LossType.DPO).withBeta(0.5).withLabelSmoothing(0.2), batch());
        double expected = (logistic(0.5, 0.5, 0.2) + logistic(1, 0.5, 0.2)) / 2;
        assertEquals(expected, r.lossValue(), TOL);
    }

    @Test void sftIsTokenMeanNll() {
        LossResult r = run(LossConfig.defaults(LossType.SFT), PreferenceBatch.sft(m(POLICY_CHOSEN), m(CHOSEN_MASK)));
        // −(−1 −2 −3 −0.5 −1.5) / 5 tokens
        assertEquals(8.0 / 5, r.lossValue(), TOL);
        assertEquals(8.0 / 5, r.metric("nll"), TOL);
    }

    @Test void rpoAddsAlphaTimesNll() {
        LossResult r = run(LossConfig.defaults(LossType.RPO).withBeta(0.5).withRpoAlpha(0.3), batch());
        double dpo = (logistic(0.5, 0.5, 0) + logistic(1, 0.5, 0)) / 2;
        assertEquals(dpo + 0.3 * 1.6, r.lossValue(), TOL);
        assertEquals(dpo, r.metric("dpo"), TOL);
        assertEquals(1.6, r.metric("nll"), TOL);
    }

    @Test void cdpoOnlyNegativeWeightsRejectedTokensByOneMinusScore() {
        LossResult r = run(LossConfig.defaults(LossType.CDPO).withBeta(0.5), batch());
        // rejected Σ(1−s⁻)Δ⁻: row0 0.75·(−1) + 0.2·0 = −0.75; row1 0.9·(−1) = −0.9
        double z0 = -0.5 - (-0.75), z1 = 0 - (-0.9);
        assertEquals((logistic(z0, 0.5, 0) + logistic(z1, 0.5, 0)) / 2, r.lossValue(), TOL);
    }

    @Test void cdpoWithChosenScoresWeightsChosenTokens() {
        LossResult r = run(LossConfig.defaults(LossType.CDPO).withBeta(0.5).withOnlyNegative(false), batch());
        // chosen Σ s⁺Δ⁺: row0 0.9·0.5 + 0.5·0 + 0.2·(−1) = 0.25; row1 0.6·0.5 + 0.3·(−0.5) = 0.15
        double z0 = 0.25 - (-0.75), z1 = 0.15 - (-0.9);
        assertEquals((logistic(z0, 0.5, 0) + logistic(z1, 0.5, 0)) / 2, r.lossValue(), TOL);
    }

    @Test void cdpoOfficialAveragesOverAlignedPositions() {
        // per position d_p = Δ⁺_p − (1−s⁻_p)Δ⁻_p on the width-3 grid (rejected padded with 0):
        // row0: [0.5 − (−0.75), 0 − 0, −1 − 0] = [1.25, 0, −1];  row1: [0.5 − (−0.9), −0.5 − 0, 0] = [1.4, −0.5, 0]
        double[] d = {1.25, 0, -1, 1.4, -0.5, 0};
        double sum = 0;
        for (double x : d) sum += logistic(x, 0.5, 0);
        LossResult r = run(LossConfig.defaults(LossType.CDPO_OFFICIAL).withBeta(0.5), batch());
        assertEquals(sum / 6, r.lossValue(), TOL);
        // with the official grid of 5 positions per row (prompt positions), 2 more ln 2 terms per row
        LossResult wide = run(LossConfig.defaults(LossType.CDPO_OFFICIAL).withBeta(0.5), batch().withOfficialPositions(5));
        assertEquals((sum + 2 * 2 * LN2) / 10, wide.lossValue(), TOL);
    }

    @Test void tokenDpoBothVariants() {
        float[][] klChosen = {{0.1f, 0.2f, 0.3f}, {0.05f, 0.05f, 9f}};   // D⁺ = 0.6, 0.1 (9 masked)
        float[][] klRejected = {{0.4f, 0.4f}, {0.2f, 5f}};              // D⁻ = 0.8, 0.2 (5 masked)
        PreferenceBatch b = batch().withKl(m(klChosen), m(klRejected));
        // TDPO1: z = margin + D⁺ − D⁻ ; margins 0.5 and 1
        LossResult one = run(LossConfig.defaults(LossType.TOKEN_DPO).withBeta(0.5).withTdpo(false, 0.5), b);
        assertEquals((logistic(0.5 + 0.6 - 0.8, 0.5, 0) + logistic(1 + 0.1 - 0.2, 0.5, 0)) / 2, one.lossValue(), TOL);
        // TDPO2: z = margin + α(D⁺ − D⁻)
        LossResult two = run(LossConfig.defaults(LossType.TOKEN_DPO).withBeta(0.5).withTdpo(true, 0.25), b);
        assertEquals((logistic(0.5 + 0.25 * (0.6 - 0.8), 0.5, 0) + logistic(1 + 0.25 * (0.1 - 0.2), 0.5, 0)) / 2,
                two.lossValue(), TOL);
        assertEquals((0.6 + 0.1) / 2, two.metric("kl/chosen"), TOL);
        assertEquals((0.8 + 0.2) / 2, two.metric("kl/rejected"), TOL);
    }

    @Test void tdpo2StopsGradientOfChosenKlButTdpo1DoesNot() {
        for (boolean tdpo2 : new boolean[] {true, false}) {
            NDArray klChosen = m(new float[][] {{0.1f, 0.2f, 0.3f}, {0.05f, 0.05f, 0}});
            NDArray klRejected = m(new float[][] {{0.4f, 0.4f}, {0.2f, 0}});
            klChosen.setRequiresGradient(true);
            klRejected.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                LossResult r = run(LossConfig.defaults(LossType.TOKEN_DPO).withTdpo(tdpo2, 0.5),
                        batch().withKl(klChosen, klRejected));
                gc.backward(r.loss());
            }
            try (NDArray gChosen = klChosen.getGradient(); NDArray gRejected = klRejected.getGradient()) {
                double chosenNorm = gChosen.abs().sum().getFloat();
                assertTrue(gRejected.abs().sum().getFloat() > 0, "rejected KL gets gradient");
                if (tdpo2) assertEquals(0.0, chosenNorm, 0.0, "TDPO2 stops the chosen KL gradient");
                else assertTrue(chosenNorm > 0, "TDPO1 passes gradient to the chosen KL");
            }
        }
    }

    @Test void sequenceKlMatchesHandComputation() {
        float[][][] ref = {{{1, 0, -1}, {0, 0, 0}}};
        float[][][] pol = {{{0, 1, 0}, {0, 0, 0}}};
        try (NDArray kl = SequenceKl.perToken(t3(ref), t3(pol))) {
            float[] v = kl.toFloatArray();
            double[] p = softmax(1, 0, -1), q = softmax(0, 1, 0);
            double expected = 0;
            for (int i = 0; i < 3; i++) expected += p[i] * (Math.log(p[i]) - Math.log(q[i]));
            assertEquals(expected, v[0], TOL);
            assertEquals(0.0, v[1], TOL); // identical distributions
        }
    }

    @Test void sequenceKlGradientReachesPolicyLogitsOnly() {
        NDArray ref = t3(new float[][][] {{{1, 0, -1}, {0.5f, 0, 0}}});
        NDArray pol = t3(new float[][][] {{{0, 1, 0}, {0, 0, 2}}});
        ref.setRequiresGradient(true);
        pol.setRequiresGradient(true);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(SequenceKl.perToken(ref, pol).sum());
        }
        try (NDArray gp = pol.getGradient(); NDArray gr = ref.getGradient()) {
            // d KL / d policy logit_v = π_θ(v) − π_ref(v)
            double[] p = softmax(1, 0, -1), q = softmax(0, 1, 0);
            float[] g = gp.toFloatArray();
            for (int v = 0; v < 3; v++) assertEquals(q[v] - p[v], g[v], TOL);
            assertEquals(0f, gr.abs().sum().getFloat(), 0f, "reference logits are constants");
        }
    }

    static double[] softmax(double... z) {
        double s = 0;
        double[] e = new double[z.length];
        for (int i = 0; i < z.length; i++) s += e[i] = Math.exp(z[i]);
        for (int i = 0; i < z.length; i++) e[i] /= s;
        return e;
    }

    @Test void stepZeroEveryDpoFamilyLossIsLn2AndRewardsZero() {
        float[][][] logits = {{{0.3f, -1, 2}, {1, 1, 0}, {0, 0.5f, -0.5f}}, {{2, 0, 0}, {0, 2, 0}, {0, 0, 2}}};
        for (LossType type : LossType.values()) {
            if (!type.isPreference()) continue;
            // policy == reference on both sides; KL from identical logits
            NDArray kl = SequenceKl.perToken(t3(logits), t3(logits));
            PreferenceBatch b = PreferenceBatch.of(m(POLICY_CHOSEN), m(new float[][] {{-2, -1, -4}, {-3, -4, -1}}),
                            m(POLICY_CHOSEN), m(new float[][] {{-2, -1, -4}, {-3, -4, -1}}),
                            m(CHOSEN_MASK), m(new float[][] {{1, 1, 1}, {1, 0, 0}}))
                    .withWeights(m(S_CHOSEN), m(S_CHOSEN)).withKl(kl, kl).withOfficialPositions(7);
            for (boolean onlyNeg : new boolean[] {true, false}) {
                LossResult r = run(LossConfig.defaults(type).withOnlyNegative(onlyNeg).withLabelSmoothing(0.1), b);
                double preference = type == LossType.RPO ? r.metric("dpo") : r.lossValue();
                assertEquals(LN2, preference, TOL, type + " at step 0");
                assertEquals(0.0, r.metric("rewards/chosen"), TOL);
                assertEquals(0.0, r.metric("rewards/rejected"), TOL);
                assertEquals(0.0, r.metric("rewards/margins"), TOL);
            }
        }
    }

    @Test void gradientsFlowToPolicyLogProbsForEveryVariant() {
        for (LossType type : LossType.values()) {
            NDArray pc = m(POLICY_CHOSEN), pr = m(POLICY_REJECTED), rc = m(REF_CHOSEN), rr = m(REF_REJECTED);
            pc.setRequiresGradient(true);
            pr.setRequiresGradient(true);
            rc.setRequiresGradient(true);
            PreferenceBatch b = PreferenceBatch.of(pc, pr, rc, rr, m(CHOSEN_MASK), m(REJECTED_MASK))
                    .withWeights(m(S_CHOSEN), m(S_REJECTED))
                    .withKl(m(new float[][] {{0.1f, 0.2f, 0.3f}, {0.1f, 0.1f, 0}}), m(new float[][] {{0.2f, 0.1f}, {0.3f, 0}}));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = run(LossConfig.defaults(type), b).loss();
                assertEquals(ai.djl.ndarray.types.DataType.FLOAT32, loss.getDataType(), type + " stays float32");
                assertEquals(0, loss.getShape().dimension(), type + " is a scalar");
                gc.backward(loss);
            }
            try (NDArray g = pc.getGradient(); NDArray gr = pr.getGradient(); NDArray gref = rc.getGradient()) {
                float[] chosenGrad = g.toFloatArray();
                assertNotEquals(0f, chosenGrad[0], type + ": chosen gradient");
                assertEquals(0f, chosenGrad[5], 0f, type + ": masked position gets no gradient");
                if (type.isPreference()) assertNotEquals(0f, gr.toFloatArray()[0], type + ": rejected gradient");
                assertEquals(0f, gref.abs().sum().getFloat(), 0f, type + ": reference is a constant");
            }
        }
    }

    @Test void dpoGradientMatchesClosedForm() {
        // dL/dlogπ⁺_t = −β σ(−βz) / B for every unmasked chosen token of the row
        NDArray pc = m(POLICY_CHOSEN);
        pc.setRequiresGradient(true);
        PreferenceBatch b = PreferenceBatch.of(pc, m(POLICY_REJECTED), m(REF_CHOSEN), m(REF_REJECTED), m(CHOSEN_MASK), m(REJECTED_MASK));
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(run(LossConfig.defaults(LossType.DPO).withBeta(0.5), b).loss());
        }
        try (NDArray g = pc.getGradient()) {
            float[] v = g.toFloatArray();
            double g0 = -0.5 / (1 + Math.exp(0.5 * 0.5)) / 2, g1 = -0.5 / (1 + Math.exp(0.5 * 1)) / 2;
            assertEquals(g0, v[0], TOL);
            assertEquals(g0, v[2], TOL);
            assertEquals(g1, v[3], TOL);
            assertEquals(0.0, v[5], TOL);
        }
    }

    /** docs/losses.md: at policy = reference the official per-position gradient is the sequence-level one / G. */
    @Test void cdpoOfficialGradientAtStepZeroIsSequenceGradientOverPositions() {
        float[][][] grads = new float[2][][];
        for (int k = 0; k < 2; k++) {
            NDArray pc = m(POLICY_CHOSEN), pr = m(POLICY_REJECTED);
            pc.setRequiresGradient(true);
            pr.setRequiresGradient(true);
            PreferenceBatch b = PreferenceBatch.of(pc, pr, m(POLICY_CHOSEN), m(POLICY_REJECTED), m(CHOSEN_MASK), m(REJECTED_MASK))
                    .withWeights(m(S_CHOSEN), m(S_REJECTED)).withOfficialPositions(7);
            LossType type = k == 0 ? LossType.CDPO : LossType.CDPO_OFFICIAL;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(run(LossConfig.defaults(type).withOnlyNegative(false), b).loss());
            }
            try (NDArray g = pc.getGradient(); NDArray gr = pr.getGradient()) {
                grads[k] = new float[][] {g.toFloatArray(), gr.toFloatArray()};
            }
        }
        for (int side = 0; side < 2; side++)
            for (int i = 0; i < grads[0][side].length; i++)
                assertEquals(grads[0][side][i] / 7, grads[1][side][i], 1e-7, "side " + side + " index " + i);
    }

    @Test void missingInputsAreReported() {
        PreferenceBatch noWeights = PreferenceBatch.of(m(POLICY_CHOSEN), m(POLICY_REJECTED), m(REF_CHOSEN),
                m(REF_REJECTED), m(CHOSEN_MASK), m(REJECTED_MASK));
        assertThrows(IllegalArgumentException.class, () -> run(LossConfig.defaults(LossType.CDPO), noWeights));
        assertThrows(IllegalArgumentException.class, () -> run(LossConfig.defaults(LossType.TOKEN_DPO), noWeights));
        assertThrows(IllegalArgumentException.class,
                () -> run(LossConfig.defaults(LossType.DPO), PreferenceBatch.sft(m(POLICY_CHOSEN), m(CHOSEN_MASK))));
        assertThrows(IllegalArgumentException.class, () -> PreferenceBatch.of(m(POLICY_CHOSEN), m(POLICY_REJECTED),
                m(REF_REJECTED), m(REF_REJECTED), m(CHOSEN_MASK), m(REJECTED_MASK)));
    }
}

package ctlab.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ctlab.sample.Sampler;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Results attach to the caller's manager (no growth in the weights' manager) and backward works. */
class LlamaModelMemoryAndGradientTest {

    /** Live resources (arrays and sub-managers, recursively) held by a manager. */
    static int live(NDManager m) {
        try {
            Field f = BaseNDManager.class.getDeclaredField("resources");
            f.setAccessible(true);
            Map<?, ?> res = (Map<?, ?>) f.get(m);
            int n = 0;
            for (Object r : res.values()) n += r instanceof NDManager sub ? 1 + live(sub) : 1;
            return n;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static NDArray[] batch(NDManager m) {
        NDArray ids = m.create(new long[] {0, 5, 9, 17, 3, 0, 0, 0, 0, 8, 44, 1, 2, 3, 4, 5}, new ai.djl.ndarray.types.Shape(2, 8));
        NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, new ai.djl.ndarray.types.Shape(2, 8));
        return new NDArray[] {ids, mask};
    }

    @Test
    void forwardAndDecodeDoNotGrowTheWeightsManager() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu())) {
            Lora.attach(model, new Lora.Config(4, 8, 0.1, Lora.ALL_MODULES), 3);
            NDManager weights = model.weightsManager();
            int before = live(weights);
            for (int i = 0; i < 20; i++) {
                try (NDManager step = NDManager.newBaseManager(Device.cpu())) {
                    NDArray[] b = batch(step);
                    model.logits(b[0], b[1]);
                    model.sequenceLogProbs(b[0], b[1]);
                    // intermediates are freed per layer: the caller keeps inputs and outputs, not activations
                    assertTrue(live(step) <= 8, "per-call manager holds " + live(step) + " arrays");
                }
                Sampler.greedy(model, List.of(new int[] {0, 5, 9}, new int[] {0, 1}), 5, -1);
            }
            assertEquals(before, live(weights), "weights manager grew: an op attached to the weights");
        }
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray[] b = batch(m);
            NDArray w = model.weight("model.layers.1.mlp.down_proj.weight");
            NDArray q = model.weight("model.layers.0.self_attn.q_proj.weight");
            float[] grad, gradQ;
            w.setRequiresGradient(true);
            q.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector();
                 NDManager step = m.newSubManager()) {
                NDArray loss = model.sequenceLogProbs(b[0], b[1]).sum().neg();
                gc.backward(loss);
                try (NDArray g = w.getGradient(); NDArray gq = q.getGradient()) {
                    grad = g.toFloatArray();
                    gradQ = gq.toFloatArray();
                }
            }
            w.setRequiresGradient(false);
            q.setRequiresGradient(false);
            checkFiniteDifference(model, b, w, grad, new int[] {0, 77, 1000, 4095});
            checkFiniteDifference(model, b, q, gradQ, new int[] {3, 500, 2047});
        }
    }

    static void checkFiniteDifference(LlamaModel model, NDArray[] b, NDArray w, float[] grad, int[] idx) {
        float[] orig = w.toFloatArray();
        double eps = 1e-2;
        for (int i : idx) {
            float[] v = orig.clone();
            v[i] = (float) (orig[i] + eps);
            setInPlace(w, v);
            double up = loss(model, b);
            v[i] = (float) (orig[i] - eps);
            setInPlace(w, v);
            double down = loss(model, b);
            double fd = (up - down) / (2 * eps);
            assertTrue(Math.abs(fd - grad[i]) <= 2e-2 * Math.max(1, Math.abs(fd)),
                    "element " + i + ": autograd " + grad[i] + " vs finite difference " + fd);
        }
        setInPlace(w, orig);
    }

    /**
     * Writes values into the weight's own storage. Not {@code w.set(float[])}: DJL swaps the tensor's storage,
     * and q/k/v and gate/up weights are views of the fused matrices the forward pass reads.
     */
    static void setInPlace(NDArray w, float[] v) {
        try (NDManager tmp = NDManager.newBaseManager(w.getDevice()); NDArray src = tmp.create(v, w.getShape())) {
            w.set(new ai.djl.ndarray.index.NDIndex("..."), src);
        }
    }

    private static double loss(LlamaModel model, NDArray[] b) {
        try (NDManager s = b[0].getManager().newSubManager()) {
            NDArray ids = b[0].duplicate(), mask = b[1].duplicate();
            ids.attach(s);
            mask.attach(s);
            return -model.sequenceLogProbs(ids, mask).sum().getFloat();
        }
    }
}

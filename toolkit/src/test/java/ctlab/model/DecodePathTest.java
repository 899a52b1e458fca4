package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static ctlab.model.LlamaModelGoldenTest.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The preallocated KV cache and the fused projections, against the model's own teacher-forced forward. */
class DecodePathTest {

    /**
     * A left-padded batch decoded one token at a time well past the cache's first capacity (so it regrows,
     * keeping what it holds) gives the teacher-forced logits at every step; mistral has a sliding window.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "mistral"})
    void stepsPastTheFirstCapacityMatchTeacherForcing(String kind) {
        int prompt = 5, steps = 150, total = prompt + steps, pad = 2;
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve(kind), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu());
             KvCache cache = model.newCache()) {
            SplittableRandom rng = new SplittableRandom(7);
            long[] ids = new long[2 * total];
            float[] mask = new float[2 * total];
            for (int i = 0; i < ids.length; i++) {
                boolean padding = i >= total && i < total + pad;                 // row 1 left-padded
                ids[i] = padding ? 0 : 2 + rng.nextInt(model.config().vocabSize() - 2);
                mask[i] = padding ? 0 : 1;
            }
            NDArray all = m.create(ids, new Shape(2, total));
            NDArray full = model.logits(all, m.create(mask, new Shape(2, total)));  // (2, total, V)
            NDIndex head = new NDIndex().addAllDim().addSliceDim(0, prompt);
            NDArray l = model.prefill(cache, all.get(head), m.create(mask, new Shape(2, total)).get(head));
            assertTrue(maxAbsDiff(l, full.get(new NDIndex().addAllDim().addIndices(prompt - 1))) <= 1e-4, "prefill");
            for (int j = prompt; j < total; j++) {
                NDArray next = all.get(new NDIndex().addAllDim().addIndices(j));  // (2)
                l = model.step(cache, next);
                double diff = maxAbsDiff(l, full.get(new NDIndex().addAllDim().addIndices(j)));
                assertTrue(diff <= 1e-4, "step at position " + j + ": max |diff| " + diff);
            }
            assertEquals(total, cache.length());
        }
    }

    /** q/k/v and gate/up weights are views of the fused matrices: an in-place update reaches the forward pass. */
    @Test
    void inPlaceUpdatesOfNamedWeightsReachTheFusedProjections() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray ids = m.create(new long[] {3, 9, 27, 4, 11}, new Shape(1, 5));
            NDArray mask = m.ones(new Shape(1, 5));
            NDArray before = model.logits(ids, mask);
            for (String w : new String[] {"model.layers.0.self_attn.k_proj.weight", "model.layers.1.mlp.up_proj.weight"}) {
                NDArray weight = model.weight(w);
                weight.addi(m.full(new Shape(), 0.25f));
                assertTrue(maxAbsDiff(model.logits(ids, mask), before) > 1e-3, w + " update not seen");
                weight.subi(m.full(new Shape(), 0.25f));
                assertTrue(maxAbsDiff(model.logits(ids, mask), before) <= 1e-5, w + " restored");
            }
        }
    }
}

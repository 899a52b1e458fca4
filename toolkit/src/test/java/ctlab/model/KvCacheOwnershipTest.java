package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The KV cache must own what it keeps between calls. The caller's ids and mask are usually arrays made from Java
 * arrays ({@code manager.create(float[])}: torch wraps a Java direct buffer without owning it) in a manager that is
 * closed right after {@link LlamaModel#prefill}; once it is, the GC may free that buffer at any time. A cache that
 * kept an alias of the caller's mask then reads freed memory at the next step (this was the rare
 * "non-finite probabilities" crash in sampling). Overwriting the caller's arrays after the call stands in for
 * "freed and reused", deterministically.
 */
class KvCacheOwnershipTest {

    @Test
    void cacheDoesNotAliasTheCallersArrays() {
        long[] ids = {0, 5, 17, 40, 3, 0, 0, 9, 22, 8};  // row 1 left-padded by 2
        float[] mask = {1, 1, 1, 1, 1, 0, 0, 1, 1, 1};
        Shape shape = new Shape(2, 5);
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            float[] expectedPrefill, expectedStep1, expectedStep2;
            try (KvCache cache = model.newCache()) {  // reference: inputs untouched
                expectedPrefill = model.prefill(cache, m.create(ids, shape), m.create(mask, shape)).toFloatArray();
                expectedStep1 = model.step(cache, m.create(new long[] {7, 11}, new Shape(2))).toFloatArray();
                expectedStep2 = model.step(cache, m.create(new long[] {12, 13}, new Shape(2))).toFloatArray();
            }
            try (KvCache cache = model.newCache()) {
                NDArray idsArr = m.create(ids, shape), maskArr = m.create(mask, shape);
                float[] prefill = model.prefill(cache, idsArr, maskArr).toFloatArray();
                // what a freed-and-reused buffer could hold
                maskArr.muli(Float.NaN);
                idsArr.muli(0);
                NDArray next = m.create(new long[] {7, 11}, new Shape(2));
                float[] step1 = model.step(cache, next).toFloatArray();
                next.muli(0);
                float[] step2 = model.step(cache, m.create(new long[] {12, 13}, new Shape(2))).toFloatArray();
                assertArrayEquals(expectedPrefill, prefill);
                assertArrayEquals(expectedStep1, step1, "the cache read the caller's mask after prefill returned");
                assertArrayEquals(expectedStep2, step2, "the cache read the caller's ids after step returned");
            }
        }
    }
}

package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link KvCache#selectRows} (shared prefill, compaction) and {@link KvCache#appendRows} (continuous batching):
 * the next step's logits of each row are those of the same row decoded in a cache of its own.
 */
class KvCacheRowsTest {
    static final long[][] PROMPTS = {{0, 5, 17, 40, 3}, {0, 9, 22}, {0, 8, 8, 30}};

    @Test
    void selectedAndAppendedRowsStepLikeRowsOfTheirOwn() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            int v = model.config().vocabSize();
            float[][] alone = new float[PROMPTS.length][];
            for (int i = 0; i < PROMPTS.length; i++) {
                try (KvCache c = model.newCache()) {
                    prefill(model, c, m, PROMPTS[i]);
                    alone[i] = model.step(c, m.create(new long[] {7}, new Shape(1))).toFloatArray();
                }
            }
            try (KvCache a = model.newCache(); KvCache b = model.newCache()) {
                prefill(model, a, m, PROMPTS[0]);
                a.selectRows(new long[] {0, 0});                  // one prefill, two rows
                prefill(model, b, m, PROMPTS[1], PROMPTS[2]);     // a shorter, left-padded pair
                a.appendRows(b);                                  // rows: p0, p0, p1, p2
                assertEquals(4, a.batchSize());
                a.selectRows(new long[] {3, 1, 2});               // drop one copy, reorder: p2, p0, p1
                float[] out = model.step(a, m.create(new long[] {7, 7, 7}, new Shape(3))).toFloatArray();
                int[] which = {2, 0, 1};
                for (int r = 0; r < 3; r++) {
                    float[] row = Arrays.copyOfRange(out, r * v, (r + 1) * v);
                    assertArrayEquals(alone[which[r]], row, 1e-4f, "row " + r);
                }
                assertThrows(IllegalArgumentException.class, () -> a.selectRows(new long[] {3}));
            }
        }
    }

    /**
     * The slots an append pads with are zeros, not uninitialised memory: garbage there (NaN or Inf from reused
     * allocator blocks) survives the additive mask as 0·NaN and changed greedy answers of the organism (218 vs 239 of
     * 500) before the padding was zeroed. Freed NaN blocks of the same size make reuse likely.
     */
    @Test
    void appendedPaddingSlotsAreZeroNotGarbage() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            for (int round = 0; round < 5; round++) {
                try (KvCache a = model.newCache(); KvCache b = model.newCache()) {
                    prefill(model, a, m, PROMPTS[0]);
                    prefill(model, b, m, PROMPTS[1]);
                    for (int i = 0; i < 2 * model.config().numHiddenLayers() + 4; i++) {
                        try (NDManager junk = NDManager.newBaseManager(Device.cpu())) {   // same-size NaN blocks, freed
                            junk.full(new Shape(2, model.config().numKeyValueHeads(), 96, model.config().headDim()), Float.NaN);
                        }
                    }
                    a.appendRows(b);
                    for (int l = 0; l < model.config().numHiddenLayers(); l++) {
                        for (float x : a.keys(l, 0).toFloatArray()) assertTrue(Float.isFinite(x), "layer " + l + " keys");
                        for (float x : a.values(l, 0).toFloatArray()) assertTrue(Float.isFinite(x), "layer " + l + " values");
                    }
                }
            }
        }
    }

    /** Left-padded prefill of the given prompts. */
    private static void prefill(LlamaModel model, KvCache c, NDManager m, long[]... prompts) {
        int t = Arrays.stream(prompts).mapToInt(p -> p.length).max().orElse(0);
        long[] ids = new long[prompts.length * t];
        float[] mask = new float[prompts.length * t];
        for (int i = 0; i < prompts.length; i++) {
            int off = i * t + t - prompts[i].length;
            System.arraycopy(prompts[i], 0, ids, off, prompts[i].length);
            Arrays.fill(mask, off, off + prompts[i].length, 1f);
        }
        model.prefill(c, m.create(ids, new Shape(prompts.length, t)), m.create(mask, new Shape(prompts.length, t)));
    }
}

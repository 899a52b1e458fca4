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

    /**
     * A long-lived batch does not keep growing: after the long row that others were right-aligned to is dropped,
     * the slots that are padding in every remaining row go (a full rollout reached 21 GB before), and the survivor
     * still steps like a row of its own.
     */
    @Test
    void droppingTheLongRowTrimsSharedPadding() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            int v = model.config().vocabSize();
            float[] alone;
            try (KvCache c = model.newCache()) {
                prefill(model, c, m, PROMPTS[1]);
                alone = model.step(c, m.create(new long[] {7}, new Shape(1))).toFloatArray();
            }
            try (KvCache a = model.newCache(); KvCache b = model.newCache()) {
                prefill(model, a, m, PROMPTS[0]);
                for (int i = 0; i < 100; i++) model.step(a, m.create(new long[] {5}, new Shape(1))).close();
                prefill(model, b, m, PROMPTS[1]);
                a.appendRows(b);                                   // b right-aligned to 105 slots: 102 of padding
                assertEquals(105, a.length());
                a.selectRows(new long[] {1});                      // the long row finishes
                assertEquals(PROMPTS[1].length, a.length(), "padding shared by every remaining row is dropped");
                float[] out = model.step(a, m.create(new long[] {7}, new Shape(1))).toFloatArray();
                assertArrayEquals(alone, Arrays.copyOf(out, v), 1e-4f);
            }
        }
    }

    /**
     * Appending and dropping rows over and over leaves no arrays behind: the views of the old slots used to stay
     * attached to the cache (keeping the old storage alive) for as long as the cache lived, which under continuous
     * batching is a whole sampling call (a full rollout ran out of memory at 21 GB).
     */
    @Test
    void appendAndSelectLeaveNoArraysBehind() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu());
             KvCache a = model.newCache()) {
            prefill(model, a, m, PROMPTS[0]);
            int after1 = -1;
            for (int i = 0; i < 20; i++) {
                try (KvCache b = model.newCache(); NDManager in = m.newSubManager()) {   // the test's own inputs
                    prefill(model, b, in, PROMPTS[1 + i % 2]);
                    a.appendRows(b);
                    model.step(a, in.create(new long[] {7, 7}, new Shape(2))).close();
                }
                a.selectRows(new long[] {1});                       // the older row finishes
                if (i == 0) after1 = ctlab.train.LiveArrays.count(m);
            }
            assertEquals(after1, ctlab.train.LiveArrays.count(m), "arrays alive after 1 and after 20 append/select cycles");
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

package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Per-layer keys and values of a batch being decoded, plus what the next step needs: which cached slots are
 * real tokens (left padding is not), the additive padding bias, and each row's next position id. Created by
 * {@link LlamaModel#newCache()}, filled by {@link LlamaModel#prefill}, extended by {@link LlamaModel#step}.
 *
 * <p>Keys and values are preallocated per layer as (B, KV, C, D) with a capacity C ≥ S (shape letters: see
 * {@link LlamaModel}); each step writes its slot in place and attention reads the first S slots through a
 * view, so a step copies O(1) slots, not the whole cache. C doubles when an extension would pass it.
 * Owns its arrays through its own NDManager (torch-owned copies, never the caller's arrays); close it when
 * the generation is done.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys;     // per layer (B, KV, C, D); slots [0, length) hold data
    private final NDArray[] values;   // per layer (B, KV, C, D)
    private final long kvHeads, headDim;
    private NDArray keyMask;          // (B, C) float32, 1 = real token (slots past the prompt are generated: 1)
    private NDArray padBias;          // (B, 1, 1, C) 0 for real tokens, MASKED for padding; null: no padding
    private NDArray nextPositions;    // (B) int64, position id of the next token per row
    private NDArray one;              // 0-d int64 1, torch-owned
    private long length, batch, capacity;

    KvCache(NDManager manager, LlamaConfig config) {
        this.manager = manager;
        this.keys = new NDArray[config.numHiddenLayers()];
        this.values = new NDArray[config.numHiddenLayers()];
        this.kvHeads = config.numKeyValueHeads();
        this.headDim = config.headDim();
    }

    /** Cached sequence length S (prompt plus generated tokens, padding included); 0 before prefill. */
    public long length() { return length; }

    /** Batch size; 0 before prefill. */
    public long batchSize() { return batch; }

    boolean filled() { return keyMask != null; }

    /** Allocates the cache for a prefill of the (B, T) float mask; the mask is copied, never kept. */
    void start(NDArray mask) {
        batch = mask.getShape().get(0);
        long t = mask.getShape().get(1);
        allocate(t + 64);
        set(keyMask, mask, 0, t);
        boolean padded;
        try (NDArray min = mask.min()) {
            padded = min.getFloat() < 1f;   // one host sync per prefill; unpadded batches skip the bias per step
        }
        if (padded) {
            padBias = paddingBiasOfMask();
        }
        one = keep(manager.full(new Shape(), 1f, DataType.INT64));
    }

    /** Makes room for {@code s} slots (doubling the capacity when needed), keeping what is cached. */
    void reserve(long s) {
        if (s <= capacity) return;
        relocate(batch, Math.max(s, 2 * capacity), length, padBias != null, block(0, length));
    }

    /** Slots [from, to) of all rows of this cache's current arrays, a source for {@link #relocate}. */
    private Block block(long from, long to) { return new Block(keys.clone(), values.clone(), keyMask, batch, from, to); }

    /** Slots [from, to) of {@code rows} rows of per-layer keys and values (B, KV, C, D) and a (B, C) mask. */
    private record Block(NDArray[] keys, NDArray[] values, NDArray mask, long rows, long from, long to) {
        long len() { return to - from; }
    }

    /**
     * The one way the cache moves its slots (growth, trimming, appending rows): allocates {@code newBatch} rows of
     * capacity {@code c}, stacks the blocks' rows in order, each block's slots right-aligned to end at slot {@code s};
     * the slots before a shorter block are padding: zero keys and values (never garbage: 0·NaN survives the additive
     * mask) and mask 0. Closes this cache's old arrays and rebuilds the padding bias when {@code padded}. The
     * views of the old slots are closed at once: an open view keeps the old storage alive for the cache's life.
     */
    private void relocate(long newBatch, long c, long s, boolean padded, Block... blocks) {
        NDArray[] oldK = keys.clone(), oldV = values.clone();
        NDArray oldMask = keyMask, oldBias = padBias;
        batch = newBatch;
        allocate(c);
        for (int l = 0; l < keys.length; l++) {
            long r0 = 0;
            for (Block b : blocks) {
                long r1 = r0 + b.rows(), start = s - b.len();
                zeroPadding(keys[l], values[l], r0, r1, start);
                try (NDArray k = JniUtils.slice((PtNDArray) b.keys()[l], 2, b.from(), b.to(), 1);     // (rows, KV, len, D)
                     NDArray v = JniUtils.slice((PtNDArray) b.values()[l], 2, b.from(), b.to(), 1)) {
                    setBlock(keys[l], k, r0, r1, start, s);
                    setBlock(values[l], v, r0, r1, start, s);
                }
                r0 = r1;
            }
            oldK[l].close();
            oldV[l].close();
        }
        long r0 = 0;
        for (Block b : blocks) {
            setMaskRows(b, r0, s);
            r0 += b.rows();
        }
        oldMask.close();
        if (oldBias != null) oldBias.close();
        padBias = padded ? paddingBiasOfMask() : null;
    }

    private void allocate(long c) {
        capacity = (c + 31) / 32 * 32;
        Shape kv = new Shape(batch, kvHeads, capacity, headDim);
        for (int i = 0; i < keys.length; i++) {
            keys[i] = keep(manager.create(kv, DataType.FLOAT32));     // uninitialised: slots are written before read
            values[i] = keep(manager.create(kv, DataType.FLOAT32));
        }
        keyMask = keep(manager.ones(new Shape(batch, capacity)));
    }

    /** Writes this call's keys and values, each (B, KV, T, D), into slots [length, length + T). */
    void write(int layer, NDArray k, NDArray v) {
        long t = k.getShape().get(2);
        set(keys[layer], k, 2, length, length + t);
        set(values[layer], v, 2, length, length + t);
    }

    /** Views of the first length + T slots, (B, KV, S, D), after {@link #write} of T new ones. */
    NDArray keys(int layer, long t) { return slots(keys[layer], length + t); }

    NDArray values(int layer, long t) { return slots(values[layer], length + t); }

    /** (B, S) view of the key mask over the first {@code s} slots. */
    NDArray keyMask(long s) { return JniUtils.slice((PtNDArray) keyMask, 1, 0, s, 1); }

    /** (B, 1, 1, S) view of the padding bias over the first {@code s} slots, or null when no row is padded. */
    NDArray paddingBias(long s) {
        return padBias == null ? null : JniUtils.slice((PtNDArray) padBias, 3, 0, s, 1);
    }

    /** (B) int64 position id of each row's next token. */
    NDArray nextPositions() { return nextPositions; }

    /** Records T written slots; {@code positions} (B) replaces the next positions, null: they advance by T. */
    void advance(long t, NDArray positions) {
        length += t;
        if (positions != null) {
            NDArray old = nextPositions;
            keep(positions);
            nextPositions = positions;
            if (old != null && old != positions) old.close();
        } else if (t == 1) {
            nextPositions.addi(one);
        } else {
            try (NDArray step = manager.full(new Shape(), (float) t, DataType.INT64)) {
                nextPositions.addi(step);
            }
        }
    }

    /**
     * Keeps only the given rows, in the given order; a row may be listed more than once (its keys and values are
     * copied). Serves shared prefill (one prompt prefilled once, expanded to its k samples) and compaction
     * (finished rows dropped without recomputing the live ones). Length and capacity stay.
     *
     * @param rows indices into the current batch, each in [0, B)
     */
    public void selectRows(long[] rows) {
        if (!filled()) throw new IllegalStateException("prefill the cache before selecting rows");
        if (rows.length == 0) throw new IllegalArgumentException("select at least one row");
        for (long r : rows) if (r < 0 || r >= batch) throw new IllegalArgumentException("row " + r + " outside [0, " + batch + ")");
        try (NDManager tmp = manager.newSubManager()) {
            NDArray idx = tmp.create(rows);                              // (B')
            for (int l = 0; l < keys.length; l++) {
                keys[l] = replace(keys[l], keys[l].get(new NDIndex("{}", idx)));   // (B', KV, C, D)
                values[l] = replace(values[l], values[l].get(new NDIndex("{}", idx)));
            }
            keyMask = replace(keyMask, keyMask.get(new NDIndex("{}", idx)));        // (B', C)
            if (padBias != null) padBias = replace(padBias, padBias.get(new NDIndex("{}", idx)));  // (B', 1, 1, C)
            nextPositions = replace(nextPositions, nextPositions.get(new NDIndex("{}", idx)));     // (B')
        }
        batch = rows.length;
        trimLeadingPadding();
    }

    /**
     * The (B, 1, 1, C) additive bias of the key mask: 0 for real tokens, MASKED for padding. The intermediates are
     * closed here: left to the cache's manager they lived as long as the cache, which under continuous batching is
     * the whole sampling call (about 1 MB per admitted group at B = 64: a full rollout ran out of memory).
     */
    private NDArray paddingBiasOfMask() {
        try (NDArray minusOne = keyMask.sub(1); NDArray scaled = minusOne.mul(-LlamaModel.MASKED)) {
            return keep(scaled.reshape(batch, 1, 1, capacity));
        }
    }

    /** Fewest all-padding leading slots worth a copy to drop. */
    private static final long TRIM_AT_LEAST = 64;

    /**
     * Drops the leading slots that are padding in every row. Continuous batching right-aligns admitted rows to the
     * running length, so without this the length of a long-lived batch only grows: memory and per-step attention
     * grew with the whole stage (a full rollout reached 21 GB), not with the longest live row. One host copy of the
     * (B, S) mask per compaction; attention is unchanged (dropped slots were masked in every row).
     */
    private void trimLeadingPadding() {
        float[] mask;
        try (NDArray view = keyMask(length)) {
            mask = view.toFloatArray();                                                // (B, S)
        }
        long first = length;
        for (int r = 0; r < batch && first > 0; r++) {
            long i = 0;
            while (i < first && mask[(int) (r * length + i)] == 0f) i++;
            first = Math.min(first, i);
        }
        if (first < TRIM_AT_LEAST) return;
        long keep = length - first;
        relocate(batch, keep + 64, keep, padBias != null, block(first, length));
        length = keep;
    }

    /**
     * Appends {@code other}'s rows after this cache's rows (continuous batching: newly prefilled rows join a running
     * batch). Both are right-aligned to the common length S = max of the two: the shorter one's slots move right
     * and the slots before them are padding (mask 0, bias MASKED), exactly like a prompt's own left padding.
     * {@code other} is left as is.
     */
    public void appendRows(KvCache other) {
        if (!filled() || !other.filled()) throw new IllegalStateException("both caches must be prefilled");
        long s = Math.max(length, other.length);
        NDArray oldPos = nextPositions;
        boolean padded = padBias != null || other.padBias != null || length != other.length;
        relocate(batch + other.batch, Math.max(s + 64, Math.max(capacity, other.capacity)), s, padded,
                block(0, length), other.block(0, other.length));
        nextPositions = keep(oldPos.concat(other.nextPositions, 0));                         // (B + B')
        oldPos.close();
        length = s;
    }

    /** Zeros in slots [0, pad) of rows [r0, r1) of a layer's keys and values, (r1 − r0, KV, pad, D). */
    private void zeroPadding(NDArray k, NDArray v, long r0, long r1, long pad) {
        if (pad == 0) return;
        try (NDArray zeros = manager.zeros(new Shape(r1 - r0, kvHeads, pad, headDim))) {
            setBlock(k, zeros, r0, r1, 0, pad);
            setBlock(v, zeros, r0, r1, 0, pad);
        }
    }

    /** Rows [r0, r0 + b.rows) of the (B, C) mask: zeros before slot s − b.len, then the block's mask slots. */
    private void setMaskRows(Block b, long r0, long s) {
        long r1 = r0 + b.rows(), start = s - b.len();
        if (start > 0) {
            try (NDArray zeros = manager.zeros(new Shape(r1 - r0, start))) {
                setBlock(keyMask, zeros, r0, r1, 0, start);
            }
        }
        try (NDArray view = JniUtils.slice((PtNDArray) b.mask(), 1, b.from(), b.to(), 1)) {
            setBlock(keyMask, view, r0, r1, start, s);
        }
    }

    /** {@code dst[r0:r1, ..., from:to]} (rows on axis 0, slots on axis 2 of a 4-d array or axis 1 of the mask) = src. */
    private static void setBlock(NDArray dst, NDArray src, long r0, long r1, long from, long to) {
        Shape shape = dst.getShape();
        int axis = shape.dimension() == 4 ? 2 : 1;
        long[] min = new long[shape.dimension()], max = shape.getShape().clone(), step = new long[shape.dimension()];
        java.util.Arrays.fill(step, 1);
        min[0] = r0;
        max[0] = r1;
        min[axis] = from;
        max[axis] = to;
        JniUtils.indexSet((PtNDArray) dst, (PtNDArray) src, min, max, step);
    }

    private NDArray replace(NDArray old, NDArray now) {
        keep(now);
        old.close();
        return now;
    }

    private static NDArray slots(NDArray a, long s) { return JniUtils.slice((PtNDArray) a, 2, 0, s, 1); }

    /** {@code dst[..., from:to (along axis), ...] = src} in place. */
    private static void set(NDArray dst, NDArray src, int axis, long from, long to) {
        Shape shape = dst.getShape();
        long[] min = new long[shape.dimension()], max = shape.getShape().clone(), step = new long[shape.dimension()];  // getShape() is the Shape's own array
        java.util.Arrays.fill(step, 1);
        min[axis] = from;
        max[axis] = to;
        JniUtils.indexSet((PtNDArray) dst, (PtNDArray) src, min, max, step);
    }

    /** {@code dst[:, from:to] = src} for a (B, C) mask. */
    private static void set(NDArray dst, NDArray src, long from, long to) { set(dst, src, 1, from, to); }

    /** Moves an array into the cache: owned by its manager and out of any enclosing NDScope. */
    private NDArray keep(NDArray a) {
        a.attach(manager);
        NDScope.unregister(a);
        return a;
    }

    @Override
    public void close() { manager.close(); }
}

package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
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
            padBias = keyMask.sub(1).mul(-LlamaModel.MASKED).reshape(batch, 1, 1, capacity);  // 0 or MASKED
            keep(padBias);
        }
        one = keep(manager.full(new Shape(), 1f, DataType.INT64));
    }

    /** Makes room for {@code s} slots (doubling the capacity when needed), keeping what is cached. */
    void reserve(long s) {
        if (s <= capacity) return;
        NDArray[] oldK = keys.clone(), oldV = values.clone();
        NDArray oldMask = keyMask, oldBias = padBias;
        allocate(Math.max(s, 2 * capacity));
        for (int i = 0; i < keys.length; i++) {
            set(keys[i], slots(oldK[i], length), 2, 0, length);
            set(values[i], slots(oldV[i], length), 2, 0, length);
            oldK[i].close();
            oldV[i].close();
        }
        set(keyMask, oldMask, 0, oldMask.getShape().get(1));
        oldMask.close();
        if (oldBias != null) {
            padBias = keyMask.sub(1).mul(-LlamaModel.MASKED).reshape(batch, 1, 1, capacity);
            keep(padBias);
            oldBias.close();
        }
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

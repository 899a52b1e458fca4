package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;

/**
 * Per-layer keys and values of a batch being decoded, plus what the next step needs: which cached
 * positions are real tokens (left padding is not) and each row's next position id. Created by
 * {@link LlamaModel#newCache()}, filled by {@link LlamaModel#prefill}, extended by {@link LlamaModel#step}.
 * Owns its arrays through its own NDManager; close it when the generation is done.
 */
public final class KvCache implements AutoCloseable {
    final NDManager manager;
    final NDArray[] keys;    // per layer (B, KV, S, D)
    final NDArray[] values;  // per layer (B, KV, S, D)
    NDArray keyMask;         // (B, S) float32, 1 = real token
    NDArray nextPositions;   // (B) int64, position id of the next token per row

    KvCache(NDManager manager, int layers) {
        this.manager = manager;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
    }

    /** Cached sequence length S (prompt plus generated tokens, padding included); 0 before prefill. */
    public long length() { return keyMask == null ? 0 : keyMask.getShape().get(1); }

    /** Batch size; 0 before prefill. */
    public long batchSize() { return keyMask == null ? 0 : keyMask.getShape().get(0); }

    boolean filled() { return keyMask != null; }

    /** Replaces a cached array, closing the old one. */
    void replaceKey(int layer, NDArray k) { swap(keys, layer, k); }

    void replaceValue(int layer, NDArray v) { swap(values, layer, v); }

    private void swap(NDArray[] slot, int layer, NDArray a) {
        NDArray old = slot[layer];
        keep(a);
        slot[layer] = a;
        if (old != null && old != a) old.close();
    }

    void replaceMask(NDArray m) {
        NDArray old = keyMask;
        keep(m);
        keyMask = m;
        if (old != null && old != m) old.close();
    }

    void replacePositions(NDArray p) {
        NDArray old = nextPositions;
        keep(p);
        nextPositions = p;
        if (old != null && old != p) old.close();
    }

    /**
     * Keeps only the given rows, in the given order; a row may be listed more than once (its keys and values are
     * copied). Serves shared prefill (one prompt prefilled once, expanded to its k samples) and compaction
     * (finished rows dropped without recomputing the live ones).
     *
     * @param rows indices into the current batch, each in [0, B)
     */
    public void selectRows(long[] rows) {
        if (!filled()) throw new IllegalStateException("prefill the cache before selecting rows");
        long b = batchSize();
        for (long r : rows) if (r < 0 || r >= b) throw new IllegalArgumentException("row " + r + " outside [0, " + b + ")");
        if (rows.length == 0) throw new IllegalArgumentException("select at least one row");
        try (NDManager tmp = manager.newSubManager()) {
            NDArray idx = tmp.create(rows);                                      // (B')
            for (int l = 0; l < keys.length; l++) {
                replaceKey(l, keys[l].get(new NDIndex("{}", idx)));              // (B', KV, S, D)
                replaceValue(l, values[l].get(new NDIndex("{}", idx)));
            }
            replaceMask(keyMask.get(new NDIndex("{}", idx)));                    // (B', S)
            replacePositions(nextPositions.get(new NDIndex("{}", idx)));         // (B')
        }
    }

    /**
     * Appends {@code other}'s rows after this cache's rows (continuous batching: newly prefilled rows join a running
     * batch). The shorter of the two is left-padded to the common length S: zero keys and values, mask 0, so
     * attention ignores the padding exactly as it ignores a prompt's own left padding. {@code other} is left as is.
     */
    public void appendRows(KvCache other) {
        if (!filled() || !other.filled()) throw new IllegalStateException("both caches must be prefilled");
        long s = Math.max(length(), other.length());
        for (int l = 0; l < keys.length; l++) {
            replaceKey(l, stackRows(keys[l], other.keys[l], 2, s));                 // (B+B', KV, S, D)
            replaceValue(l, stackRows(values[l], other.values[l], 2, s));
        }
        replaceMask(stackRows(keyMask, other.keyMask, 1, s));                        // (B+B', S)
        replacePositions(nextPositions.concat(other.nextPositions, 0));             // (B+B')
    }

    /** {@code a} over {@code b} along the batch axis, each left-padded with zeros along {@code axis} to length s. */
    private NDArray stackRows(NDArray a, NDArray b, int axis, long s) {
        NDArray pa = leftPad(a, axis, s), pb = leftPad(b, axis, s);
        NDArray out = pa.concat(pb, 0);
        if (pa != a) pa.close();
        if (pb != b) pb.close();
        return out;
    }

    private NDArray leftPad(NDArray a, int axis, long s) {
        long have = a.getShape().get(axis);
        if (have == s) return a;
        long[] dims = a.getShape().getShape().clone();
        dims[axis] = s - have;
        try (NDArray zeros = manager.zeros(new ai.djl.ndarray.types.Shape(dims), a.getDataType())) {
            return zeros.concat(a, axis);
        }
    }

    /** Moves an array into the cache: owned by its manager and out of any enclosing NDScope. */
    private void keep(NDArray a) {
        a.attach(manager);
        NDScope.unregister(a);
    }

    @Override
    public void close() { manager.close(); }
}

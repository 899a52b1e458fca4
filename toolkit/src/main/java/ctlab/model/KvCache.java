package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

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

    /** Moves an array into the cache: owned by its manager and out of any enclosing NDScope. */
    private void keep(NDArray a) {
        a.attach(manager);
        NDScope.unregister(a);
    }

    @Override
    public void close() { manager.close(); }
}

package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ctlab.model.Param;
import ctlab.model.Scalars;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntPredicate;

/**
 * A tiny next-token LM built from raw NDArrays for trainer tests: one-hot(prev) · E (V×D) → ReLU(· W1 + b1)
 * with dropout (torch RNG, so resumption must restore the RNG stream) → · W2 + b2 → log-softmax, cross-entropy
 * on the next token of a noisy "next = 3·prev + 1 mod V" stream. Init and data come from java.util.Random,
 * so two instances with the same seed are identical.
 */
final class ToyLmTask implements TrainingTask<ToyLmTask.Batch> {
    static final int V = 16;
    static final int D = 8;
    static final int H = 32;

    record Batch(int[] inputs, int[] targets) {}

    private final List<Param> params;
    private final Batch[] batches;
    private final float dropout;
    private int lossCalls;
    /** Test hooks, by 0-based loss-call count. */
    IntPredicate nanLossAt = c -> false;
    IntPredicate nanGradAt = c -> false;
    IntPredicate interruptAt = c -> false;
    /** Writes the first layer as W1ᵀ-first (long-lived operand first): the leak the memory rule warns about. */
    boolean leaky;

    ToyLmTask(NDManager manager, long seed, int numBatches, int batchSize, float dropout) {
        Random rnd = new Random(seed);
        this.params = List.of(
                param(manager, rnd, "embed.weight", new Shape(V, D), 0.5f, true),
                param(manager, rnd, "mlp.w1", new Shape(D, H), 0.35f, true),
                param(manager, rnd, "mlp.b1", new Shape(H), 0f, false),
                param(manager, rnd, "mlp.w2", new Shape(H, V), 0.18f, true),
                param(manager, rnd, "mlp.b2", new Shape(V), 0f, false));
        Random data = new Random(seed * 31 + 7);
        this.batches = new Batch[numBatches];
        int prev = data.nextInt(V);
        for (int b = 0; b < numBatches; b++) {
            int[] in = new int[batchSize];
            int[] out = new int[batchSize];
            for (int i = 0; i < batchSize; i++) {
                int next = data.nextDouble() < 0.9 ? (3 * prev + 1) % V : data.nextInt(V);
                in[i] = prev;
                out[i] = next;
                prev = next;
            }
            batches[b] = new Batch(in, out);
        }
        this.dropout = dropout;
    }

    private static Param param(NDManager m, Random rnd, String name, Shape shape, float scale, boolean decay) {
        float[] v = new float[(int) shape.size()];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * scale);
        return new Param(name, m.create(v, shape), decay);
    }

    @Override public List<Param> params() { return params; }
    @Override public int numMicroBatches() { return batches.length; }
    @Override public Batch microBatch(int index) { return batches[index]; }
    @Override public long tokens(Batch b) { return b.inputs().length; }
    int lossCalls() { return lossCalls; }

    @Override public void writeCheckpointExtras(Path dir) {
        try {
            Files.writeString(dir.resolve("toy_config.json"), "{\"vocab\": " + V + "}");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    NDArray p(int i) { return params.get(i).array(); }

    @Override public NDArray loss(NDManager sm, Batch b, Map<String, Double> metrics) {
        int call = lossCalls++;
        if (interruptAt.test(call)) Thread.currentThread().interrupt();
        NDArray x = sm.create(b.inputs()).oneHot(V);                               // (B, V)
        NDArray emb = x.matMul(p(0));                                              // (B, D)
        NDArray h = leaky ? p(1).transpose().matMul(emb.transpose()).transpose()   // (B, H) via a weight-first op
                          : emb.matMul(p(1));                                      // (B, H)
        h = Activation.relu(h.add(p(2)));                                          // (B, H)
        if (dropout > 0) {
            NDArray keep = sm.randomUniform(0, 1, h.getShape()).gte(dropout).toType(DataType.FLOAT32, false);
            h = Scalars.div(h.mul(keep), 1 - dropout);                             // (B, H)
        }
        NDArray logits = h.matMul(p(3)).add(p(4));                                 // (B, V)
        NDArray logp = logits.logSoftmax(1);                                       // (B, V)
        NDArray y = sm.create(b.targets()).oneHot(V);                              // (B, V)
        NDArray loss = Scalars.div(logp.mul(y).sum().neg(), b.inputs().length);    // ()
        if (nanGradAt.test(call)) loss = loss.add(Scalars.mul(h, 0).sqrt().sum()); // finite loss, NaN gradient
        if (nanLossAt.test(call)) loss = loss.mul(Float.NaN);
        metrics.put("accuracy", (double) logits.argMax(1).toType(DataType.INT32, false)
                .eq(sm.create(b.targets())).sum().getLong() / b.inputs().length);
        return loss;
    }
}

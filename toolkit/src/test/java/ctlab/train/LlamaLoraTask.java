package ctlab.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.model.LlamaConfig;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Param;
import ctlab.model.Scalars;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;

/**
 * Next-token training of LoRA adapters (rank 4, all seven projections, dropout 0.1 drawn from the engine RNG)
 * through the real model code: the loss is the token mean of {@code -LlamaModel.sequenceLogProbs}. Data:
 * {@code numBatches} micro-batches of (B, T) ids from a noisy "next = 7·prev + 3 mod V" stream drawn from a
 * Java RNG, so two instances are identical. Two models: {@link Size#GOLDEN}, the committed tiny Llama
 * (2 layers, hidden 64, vocab 300), where no op is big enough to be split across threads (1 and 2 intra-op
 * threads give the same numbers), and {@link Size#WIDE}, a random 2-layer Llama (hidden 256, MLP 1024, vocab
 * 2048) on (8, 64) batches, large enough that GEMMs and reductions run multi-threaded.
 */
final class LlamaLoraTask implements TrainingTask<long[]>, AutoCloseable {
    enum Size { GOLDEN, WIDE }

    private final LlamaModel model;
    private final int vocab;
    private final List<Param> params;
    private final long[][] batches;
    private final int batchSize;
    private final int seqLen;
    /** Test hook: after the forward pass of these loss calls, run garbage collections before the backward. */
    IntPredicate gcBeforeBackward = call -> false;
    private int lossCalls;

    /** {@code numBatches} micro-batches of the size's shape. */
    static LlamaLoraTask of(Size size, int numBatches) {
        return switch (size) {
            case GOLDEN -> new LlamaLoraTask(LlamaModel.load(goldenLlama(), Device.cpu()), 11, numBatches, 4, 16, 5);
            case WIDE -> new LlamaLoraTask(LlamaModel.random(wideConfig(), 3, 0.05, Device.cpu()), 11, numBatches, 8, 64, 5);
        };
    }

    private static LlamaConfig wideConfig() {
        ObjectNode c = (ObjectNode) LlamaConfig.load(goldenLlama().resolve("config.json")).toJson();
        c.put("hidden_size", 256).put("intermediate_size", 1024).put("num_attention_heads", 8)
                .put("num_key_value_heads", 4).put("head_dim", 32).put("vocab_size", 2048);
        return LlamaConfig.fromJson(c, "wide test config");
    }

    /** Takes ownership of {@code model}; attaches fresh adapters seeded with {@code loraSeed}. */
    LlamaLoraTask(LlamaModel model, long loraSeed, int numBatches, int batchSize, int seqLen, long dataSeed) {
        this.model = model;
        this.vocab = model.config().vocabSize();
        Lora.attach(model, new Lora.Config(4, 8, 0.1, Lora.ALL_MODULES), loraSeed);
        model.setTraining(true);
        this.params = model.trainableParameters();
        this.batchSize = batchSize;
        this.seqLen = seqLen;
        SplittableRandom rnd = new SplittableRandom(dataSeed);
        this.batches = new long[numBatches][];
        for (int b = 0; b < numBatches; b++) {
            long[] ids = new long[batchSize * seqLen];
            for (int r = 0; r < batchSize; r++) {
                long prev = rnd.nextInt(vocab);
                for (int t = 0; t < seqLen; t++) {
                    ids[r * seqLen + t] = prev;
                    prev = rnd.nextDouble() < 0.85 ? (7 * prev + 3) % vocab : rnd.nextInt(vocab);
                }
            }
            batches[b] = ids;
        }
    }

    static Path goldenLlama() {
        try {
            return Path.of(LlamaLoraTask.class.getResource("/goldens/llama/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override public List<Param> params() { return params; }
    @Override public int numMicroBatches() { return batches.length; }
    @Override public long[] microBatch(int index) { return batches[index]; }
    @Override public long tokens(long[] batch) { return batch.length; }

    @Override public NDArray loss(NDManager sm, long[] batch, Map<String, Double> metrics) {
        int call = lossCalls++;
        NDArray ids = sm.create(batch, new Shape(batchSize, seqLen));                 // (B, T)
        NDArray mask = sm.ones(new Shape(batchSize, seqLen));                          // (B, T)
        NDArray logp = model.sequenceLogProbs(ids, mask);                              // (B, T-1)
        NDArray loss = Scalars.div(logp.sum().neg(), (double) batchSize * (seqLen - 1));  // ()
        if (gcBeforeBackward.test(call)) collectGarbage();
        return loss;
    }

    /** Several full GCs with pauses, so the JDK's Cleaner frees every unreachable direct buffer now. */
    static void collectGarbage() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override public void close() { model.close(); }
}

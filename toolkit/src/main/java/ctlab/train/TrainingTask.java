package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ctlab.model.Param;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a {@link Trainer} trains: the trainable parameters, the data as a fixed list of micro-batches, and
 * the loss of one micro-batch. SFT, the DPO family and organism pretraining each implement this; the loop
 * (accumulation, clipping, schedule, NaN guard, checkpoints, metrics) is the Trainer's.
 *
 * <p>Memory rule for {@link #loss}: create every per-step array in {@code stepManager} and write ops with the
 * per-step activation as the FIRST operand ({@code x.matMul(w)}, not {@code w.matMul(x)}): a result attaches
 * to its first operand's manager, so {@code w.op(x)} parks it with the long-lived weights and leaks.
 *
 * @param <B> one micro-batch (token ids, masks, pair data...), built on the Java side
 */
public interface TrainingTask<B> {

    /** The trainable parameters (frozen ones are simply not listed). Same list, same order, every call. */
    List<Param> params();

    /** Micro-batches in one epoch; the trainer visits them in a (seeded, shuffled) order. */
    int numMicroBatches();

    /** Micro-batch {@code index} in [0, numMicroBatches); deterministic, so a resumed run sees the same data. */
    B microBatch(int index);

    /**
     * Scalar loss of one micro-batch, created under {@code stepManager} (closed by the trainer after the
     * optimizer step). Extra per-micro-batch numbers (accuracy, reward margin...) go into {@code metrics};
     * the trainer averages them over the step's micro-batches and the logging window.
     */
    NDArray loss(NDManager stepManager, B batch, Map<String, Double> metrics);

    /**
     * Called right after the loss's backward, with the gradient collector still open: backward work the forward
     * deferred, i.e. {@link ctlab.model.LlamaModel#backwardCheckpoints} under activation checkpointing.
     */
    default void afterBackward() {}

    /** Tokens in the micro-batch, for tokens/s (0 when not meaningful). */
    default long tokens(B batch) { return 0; }

    /**
     * Called while a checkpoint directory is being written (before its atomic rename): write model files a
     * user may want there, e.g. a PEFT adapter. Trainable params and optimizer state are saved by the trainer.
     */
    default void writeCheckpointExtras(Path checkpointDir) {}
}

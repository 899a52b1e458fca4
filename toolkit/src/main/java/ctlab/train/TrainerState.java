package ctlab.train;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;
import java.util.Map;

/**
 * Contents of {@code trainer_state.json} in a checkpoint: where the loop stands and everything needed to
 * continue it exactly (schedule position, data position, RNG scheme and seed, resolved config) plus
 * provenance (versions, threads).
 *
 * @param step                 optimizer steps completed
 * @param totalSteps           optimizer steps of the whole run
 * @param epoch                epoch of the next micro-batch
 * @param batchPosition        position of the next micro-batch within that epoch's order
 * @param microBatchesPerEpoch the task's micro-batch count when saved (resume refuses a different data set size)
 * @param warmupSteps          resolved warmup steps
 * @param lrFactor             schedule multiplier for the next step
 * @param lastLr               learning rate of the last completed step
 * @param rng                  how randomness is derived (the engine RNG is re-seeded from (seed, step) each step
 *                             and the data order from (seed, epoch), so (seed, step, epoch) is the full RNG state)
 * @param config               the resolved training config
 * @param params               trainable parameter names and shapes
 * @param versions             ctlab, DJL, PyTorch and Java versions
 * @param threads              intra-/inter-op thread counts (results are bit-identical only with the same counts)
 * @param savedAt              ISO-8601 time of saving
 */
public record TrainerState(
        @JsonProperty("step") int step,
        @JsonProperty("total_steps") int totalSteps,
        @JsonProperty("epoch") int epoch,
        @JsonProperty("batch_position") int batchPosition,
        @JsonProperty("micro_batches_per_epoch") int microBatchesPerEpoch,
        @JsonProperty("warmup_steps") int warmupSteps,
        @JsonProperty("lr_factor") double lrFactor,
        @JsonProperty("last_lr") double lastLr,
        @JsonProperty("rng") Rng rng,
        @JsonProperty("config") TrainConfig config,
        @JsonProperty("params") List<ParamShape> params,
        @JsonProperty("versions") Map<String, String> versions,
        @JsonProperty("threads") Map<String, Integer> threads,
        @JsonProperty("saved_at") String savedAt) {

    /** RNG provenance: seed and the derivation scheme (the scheme string names its version). */
    public record Rng(@JsonProperty("seed") long seed, @JsonProperty("scheme") String scheme) {}

    /** A trainable tensor's name and shape as saved. */
    public record ParamShape(@JsonProperty("name") String name, @JsonProperty("shape") long[] shape) {}
}

package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ctlab.CtlabException;
import ctlab.data.PromptResponse;
import ctlab.data.SftExample;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Param;
import ctlab.model.Tokenizer;
import ctlab.train.loss.LossResult;
import ctlab.train.loss.PreferenceBatch;
import ctlab.train.loss.LossConfig;
import ctlab.train.loss.LossType;
import ctlab.train.loss.PreferenceLoss;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * LoRA supervised fine-tuning on (prompt, response) examples through the shared {@link Trainer}: the positive and
 * negative models of contrastive estimation (official: r = 8 on gate/up/down, lr 3e-4, 100 warmup steps, 1 epoch).
 * Loss = mean NLL of the response tokens (prompt masked), EOS included, from the shared per-token log-prob function
 * ({@link ResponseBatch#responseLogProbs}, i.e. {@link LlamaModel#shiftedLogProbs}) through the {@code sft} loss.
 *
 * <p>Output folder: {@code adapter_config.json} + {@code adapter_model.safetensors} (PEFT), {@code metrics.jsonl},
 * {@code checkpoints/} (each with a PEFT adapter too). Re-running on the same folder resumes from the newest
 * checkpoint, so an interrupted run ends with the same adapter as an uninterrupted one.
 */
public final class SftTraining {
    private SftTraining() {}

    /**
     * @param lora      adapter shape (rank, alpha, dropout, targets)
     * @param train     optimisation (lr, warmup, schedule, accumulation, clipping, epochs, seed)
     * @param batchSize examples per micro-batch
     * @param maxLength longest prompt + response in tokens; longer examples keep the prompt end and a cut response
     * @param loraSeed  seed of the adapter initialisation
     */
    public record Config(Lora.Config lora, TrainConfig train, int batchSize, int maxLength, long loraSeed) {
        public Config {
            Objects.requireNonNull(lora, "lora");
            Objects.requireNonNull(train, "train");
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            if (maxLength < 2) throw new IllegalArgumentException("max length must be >= 2, got " + maxLength);
        }
    }

    /**
     * Examples as their carried ids {@code prompt_ids | response_ids EOS}, truncated to {@code maxLength}; nothing is
     * re-tokenized ({@code tokenizer} gives the EOS and BOS ids only).
     */
    public static List<PromptResponse> encode(Tokenizer tokenizer, List<SftExample> data, int maxLength, String source) {
        if (tokenizer.eosId() < 0) throw new CtlabException(source + ": the tokenizer has no EOS token to append");
        List<PromptResponse> out = new ArrayList<>(data.size());
        for (SftExample e : data)
            out.add(e.ids().withEos(tokenizer.eosId()).truncate(maxLength - 1, maxLength, tokenizer.bosId() >= 0));
        return out;
    }

    /**
     * Attaches a fresh adapter to {@code model} (made active), trains it (resuming from {@code outDir}'s checkpoints)
     * and saves it to {@code outDir}. The adapter stays attached and active on return.
     */
    public static Trained train(LlamaModel model, List<PromptResponse> examples, Config config, Path outDir,
                             Map<String, String> provenance) {
        Lora lora = Lora.attach(model, config.lora(), config.loraSeed());
        Job job = new Job(model, lora, examples, config.batchSize());
        boolean before = model.isTraining();
        model.setTraining(true);                        // LoRA dropout as configured (official 0)
        TrainResult result;
        try {
            result = new Trainer(config.train()).fit(job, outDir);
        } finally {
            model.setTraining(before);
        }
        if (result.finished()) lora.save(outDir, provenance);
        return new Trained(lora, result);
    }

    /** A trained (or interrupted) adapter, still attached to the model, and how the run went. */
    public record Trained(Lora lora, TrainResult result) {}

    /** The SFT objective over fixed micro-batches of consecutive examples. */
    public static final class Job implements TrainingTask<ResponseBatch> {
        private final LlamaModel model;
        private final Lora lora;
        private final List<ResponseBatch> batches = new ArrayList<>();
        private final PreferenceLoss loss = PreferenceLoss.create(LossConfig.defaults(LossType.SFT));

        public Job(LlamaModel model, Lora lora, List<PromptResponse> examples, int batchSize) {
            this.model = model;
            this.lora = lora;
            for (int from = 0; from < examples.size(); from += batchSize)
                batches.add(ResponseBatch.pack(examples.subList(from, Math.min(examples.size(), from + batchSize))));
        }

        @Override public List<Param> params() { return lora.parameters(); }

        @Override public int numMicroBatches() { return batches.size(); }

        @Override public ResponseBatch microBatch(int index) { return batches.get(index); }

        @Override public NDArray loss(NDManager sm, ResponseBatch batch, Map<String, Double> metrics) {
            ResponseBatch.Tensors t = batch.tensors(sm);                    // ids kept alive until backward
            NDArray logits = batch.logits(model, t);                        // (B, R, V)
            NDArray logp = batch.responseLogProbs(logits, t);               // (B, R)
            LossResult r = loss.compute(PreferenceBatch.sft(logp, batch.responseMaskArray(sm)));
            metrics.putAll(r.metrics());
            return r.loss();
        }

        @Override public long tokens(ResponseBatch batch) { return batch.realTokens(); }

        @Override public void afterBackward() { model.backwardCheckpoints(); }

        @Override public void writeCheckpointExtras(Path checkpointDir) { lora.save(checkpointDir, Map.of()); }
    }
}

package ctlab.run.stage;

import ctlab.CtlabException;
import ctlab.data.PromptResponse;
import ctlab.data.SftExample;
import ctlab.io.Jsonl;
import ctlab.model.LlamaModel;
import ctlab.run.RunConfig;
import ctlab.run.Stage;
import ctlab.run.StageContext;
import ctlab.train.SftTraining;
import ctlab.train.TrainConfig;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stages {@code train-pos} and {@code train-neg}: LoRA SFT of the positive model on {@code 02-select/sft-pos.jsonl}
 * or the negative model on {@code sft-neg.jsonl} ({@link SftTraining}, on the examples' carried ids). Output: the PEFT adapter
 * ({@code adapter_config.json}, {@code adapter_model.safetensors}), {@code metrics.jsonl} (one record per optimizer
 * step) and {@code checkpoints/}; a re-run continues from the newest checkpoint.
 */
public final class TrainSftStage implements Stage {
    private final boolean positive;

    private TrainSftStage(boolean positive) { this.positive = positive; }

    public static TrainSftStage positive() { return new TrainSftStage(true); }

    public static TrainSftStage negative() { return new TrainSftStage(false); }

    private String dataFile() { return positive ? "sft-pos.jsonl" : "sft-neg.jsonl"; }

    @Override public String name() { return positive ? "train-pos" : "train-neg"; }

    @Override public String description() {
        return positive ? "LoRA SFT of the positive model on correct samples" : "LoRA SFT of the negative model on incorrect samples";
    }

    /** {@code train.activation_checkpointing} serves every training stage; it is in the hash only when true. */
    @Override public List<String> configKeys() { return List.of("seed", "sft", "train.activation_checkpointing"); }

    @Override public List<Input> inputs(RunConfig c) {
        return List.of(Input.external(c.model()), Input.fromStage("select", dataFile()));
    }

    @Override public List<String> outputs() {
        return List.of("adapter_config.json", "adapter_model.safetensors", "metrics.jsonl");
    }

    @Override public void run(StageContext ctx) {
        RunConfig.Sft sft = ctx.config().sft();
        Path data = ctx.input("select", dataFile());
        List<SftExample> examples = Jsonl.read(data, SftExample.class);
        if (examples.isEmpty()) throw new CtlabException(data + ": no SFT examples (the file is empty)");
        // select writes examples in problem order (the generator's random order), so a prefix is a random subset
        if (sft.maxExamples() > 0 && sft.maxExamples() < examples.size()) examples = examples.subList(0, sft.maxExamples());
        try (LlamaModel model = StageSupport.loadModel(ctx.config())) {
            model.setActivationCheckpointing(ctx.config().train().activationCheckpointing());
            if (model.activationCheckpointing()) ctx.log("activation checkpointing: each decoder layer is recomputed in backward");
            List<PromptResponse> encoded = SftTraining.encode(model.tokenizer(), examples, sft.maxLength(), data.toString());
            int microBatches = (encoded.size() + sft.batchSize() - 1) / sft.batchSize();
            TrainConfig tc = StageSupport.trainConfig(sft.lr(), sft.warmupSteps(), 0, sft.schedule(), sft.weightDecay(),
                    sft.maxGradNorm(), sft.gradAccumulation(), sft.epochs(), ctx.seed("trainer"), microBatches);
            SftTraining.Config config = new SftTraining.Config(StageSupport.lora(sft.lora()), tc, sft.batchSize(),
                    sft.maxLength(), ctx.seed("lora"));
            ctx.log((ctx.resumed() ? "resuming: " : "") + examples.size() + " examples from " + data.getFileName() + ", "
                    + microBatches + " micro-batches of " + sft.batchSize() + ", " + tc.gradAccum() + " per step, "
                    + tc.epochs() + " epoch(s)");
            Map<String, Object> prov = new LinkedHashMap<>();
            prov.put("train_config", tc.toJson());
            prov.put("lora", sft.lora());
            prov.put("data", data.getFileName().toString());
            prov.put("examples", examples.size());
            SftTraining.Trained t = SftTraining.train(model, encoded, config, ctx.dir(),
                    StageSupport.provenance(ctx, prov));
            ctx.log("trained " + t.result().step() + "/" + t.result().totalSteps() + " steps"
                    + (t.result().resumedFrom() > 0 ? " (resumed from checkpoint at step " + t.result().resumedFrom() + ")" : "")
                    + ", last loss " + t.result().lastLoss());
            ctx.checkInterrupted();
        }
    }
}

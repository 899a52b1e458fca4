package ctlab.run.stage;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.data.ScoredPair;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.model.LlamaModel;
import ctlab.run.Hashes;
import ctlab.run.RunConfig;
import ctlab.run.Stage;
import ctlab.run.StageContext;
import ctlab.train.PreferenceTraining;
import ctlab.train.ReferenceLogps;
import ctlab.train.TrainConfig;
import ctlab.train.loss.LossConfig;
import ctlab.train.loss.LossType;
import ctlab.train.loss.PreferenceLoss;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stage {@code train}: one LoRA policy per loss in {@code train.losses} (sft | dpo | rpo | tokendpo | cdpo |
 * cdpo-official), all on the same scored pairs ({@code 05-score-ce/pairs-scored.jsonl}), the same adapter
 * initialisation and the same data order, so an ablation differs only in the loss. Layout:
 * <pre>
 *   07-train/reference-logps.json     reference log-probs (base model, adapters disabled), keyed by a hash
 *   07-train/&lt;loss&gt;/                 PEFT adapter + metrics.jsonl (TRL metric names) + checkpoints/
 *   07-train/policies.json            loss → adapter folder, steps, final metrics (written last)
 * </pre>
 * Every loss config and its inputs are validated before the first one trains. A re-run skips finished losses and
 * continues a cut one from its newest checkpoint.
 */
public final class TrainPolicyStage implements Stage {
    public static final String POLICIES = "policies.json";

    @Override public String name() { return "train"; }

    @Override public String description() { return "preference optimisation (dpo, cdpo, ...) of the policy adapter(s)"; }

    @Override public List<String> configKeys() { return List.of("seed", "train"); }

    @Override public List<Input> inputs(RunConfig c) {
        return List.of(Input.external(c.model()), Input.fromStage("score-ce", ScoreCeStage.OUTPUT));
    }

    @Override public List<String> outputs() { return List.of(POLICIES, ReferenceLogps.FILE); }

    @Override public void run(StageContext ctx) {
        RunConfig.Train t = ctx.config().train();
        Path data = ctx.input("score-ce", ScoreCeStage.OUTPUT);
        List<ScoredPair> scored = Jsonl.read(data, ScoredPair.class);
        try (LlamaModel model = StageSupport.loadModel(ctx.config())) {
            model.setActivationCheckpointing(t.activationCheckpointing());
            if (t.activationCheckpointing()) ctx.log("activation checkpointing: each decoder layer is recomputed in backward");
            List<PreferenceTraining.EncodedPair> pairs = PreferenceTraining.encode(model.tokenizer(), scored,
                    t.maxPromptLength(), t.maxLength(), data.toString());
            List<LossConfig> losses = new ArrayList<>();     // validated when the config loaded
            for (String name : t.losses()) losses.add(t.loss(LossType.fromName(name)));
            int microBatches = (pairs.size() + t.batchSize() - 1) / t.batchSize();
            TrainConfig tc = StageSupport.trainConfig(t.lr(), 0, t.warmupRatio(), t.schedule(), t.weightDecay(),
                    t.maxGradNorm(), t.gradAccumulation(), t.epochs(), ctx.seed("trainer"), microBatches);

            Path cache = ctx.file(ReferenceLogps.FILE);
            String key = ReferenceLogps.key(Hashes.ofModel(Path.of(ctx.config().model())),
                    model.tokenizer().file(), pairs, t.batchSize());
            if (!java.nio.file.Files.exists(cache)) {
                ctx.log("computing reference log-probs (base model, adapters disabled) for " + pairs.size() + " pairs");
                ReferenceLogps.compute(model, pairs, t.batchSize(), key).save(cache);
            }
            ReferenceLogps reference = ReferenceLogps.load(cache, key, pairs);

            ObjectNode policies = Jsonl.MAPPER.createObjectNode();
            for (LossConfig lc : losses) {
                ctx.checkInterrupted();
                String loss = lc.type().configName();
                Path out = ctx.dir().resolve(loss);
                PreferenceTraining.Config config = new PreferenceTraining.Config(PreferenceLoss.create(lc), StageSupport.lora(t.lora()), tc,
                        t.batchSize(), t.maxLength(), t.maxPromptLength(), ctx.seed("lora"));
                Map<String, Object> prov = new LinkedHashMap<>();
                prov.put("loss", lc.toJson());
                prov.put("train_config", tc.toJson());
                prov.put("lora", t.lora());
                prov.put("data", ScoreCeStage.OUTPUT);
                prov.put("reference_cache_key", key);
                ctx.log(loss + ": " + pairs.size() + " pairs, " + tc.epochs() + " epoch(s), β " + lc.beta());
                PreferenceTraining.Trained trained = PreferenceTraining.train(model, pairs, reference, config, out,
                        StageSupport.provenance(ctx, prov));
                try {
                    ctx.log(loss + ": " + trained.result().step() + "/" + trained.result().totalSteps() + " steps"
                            + (trained.result().resumedFrom() > 0 ? " (resumed from checkpoint at step "
                            + trained.result().resumedFrom() + ")" : "") + ", last loss " + trained.result().lastLoss());
                    ctx.checkInterrupted();
                } finally {
                    trained.lora().close();
                }
                ObjectNode entry = policies.putObject(loss);
                entry.put("adapter", loss);
                entry.put("steps", trained.result().step());
                entry.set("loss_config", lc.toJson());
                List<Jsonl.Line> metrics = Jsonl.readLenient(out.resolve("metrics.jsonl"));
                if (!metrics.isEmpty()) {
                    ObjectNode last = metrics.get(metrics.size() - 1).json().deepCopy();
                    last.remove(List.of("elapsed_s", "tokens_per_s", "live_arrays"));   // timings: not reproducible
                    entry.set("final_metrics", last);
                }
            }
            AtomicFiles.writeString(ctx.file(POLICIES), policies.toPrettyString() + "\n");
        }
    }
}

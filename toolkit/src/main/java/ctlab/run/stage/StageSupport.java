package ctlab.run.stage;

import ai.djl.Device;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.model.Devices;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.run.Provenance;
import ctlab.run.RunConfig;
import ctlab.run.StageContext;
import ctlab.train.Schedule;
import ctlab.train.TrainConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/** What the model stages share: device, model loading, config translation, provenance. */
final class StageSupport {
    private StageSupport() {}

    static Device device(RunConfig c) { return Devices.resolve(c.device(), "config key 'device'"); }

    /**
     * The generator of a stage's {@code backend}: the local {@link ctlab.sample.Sampler} on {@code model}
     * ({@code maxRows} rows decoded together), or the {@code openai} section's server with {@code model}'s tokenizer
     * (prompts go as ids); {@code model} may then be null and the tokenizer is read from the model folder alone.
     */
    static ctlab.sample.Generator generator(RunConfig c, String backend, LlamaModel model, int maxRows) {
        if (backend.equals(RunConfig.BACKEND_LOCAL)) return new ctlab.sample.Sampler(model).maxBatchRows(maxRows);
        ctlab.model.Tokenizer tok = model != null ? model.tokenizer() : loadTokenizer(c);
        return new ctlab.sample.remote.RemoteGenerator(new ctlab.sample.remote.OpenAiCompletions(c.openai().client()), tok);
    }

    /** The model folder's tokenizer without its weights (the openai backend needs no local model). */
    static ctlab.model.Tokenizer loadTokenizer(RunConfig c) {
        Path dir = Path.of(c.model());
        if (!Files.isRegularFile(dir.resolve(ctlab.model.Tokenizer.FILE))) {
            throw new CtlabException("config key 'model': " + dir + " has no tokenizer.json (the openai backend encodes prompts with it)");
        }
        return ctlab.model.Tokenizer.load(dir);
    }

    /** The base model with its tokenizer; a folder without tokenizer.json is an error naming it. */
    static LlamaModel loadModel(RunConfig c) {
        Path dir = Path.of(c.model());
        if (!Files.isDirectory(dir)) throw new CtlabException("config key 'model': " + dir + " is not a model folder");
        LlamaModel m = LlamaModel.load(dir, device(c), ctlab.model.Precision.Dtype.parse(c.modelDtype(), "config key 'model_dtype'"));
        if (m.tokenizer() == null) {
            m.close();
            throw new CtlabException(dir + ": no tokenizer.json; the training stages tokenize prompts and responses");
        }
        return m;
    }

    /**
     * Logs a warning when prompts (plus {@code maxNewTokens}) reach past the model's {@code max_position_embeddings}:
     * the model then runs on positions it was never trained on, without any error. Returns the number of such prompts.
     */
    static int warnLongPrompts(StageContext ctx, LlamaModel model, ctlab.task.Task task, java.util.List<ctlab.task.Problem> problems,
                               boolean fewShot, int maxNewTokens) {
        int max = model.config().maxPositionEmbeddings();
        int over = 0, longest = 0;
        String longestId = null;
        for (ctlab.task.Problem p : problems) {
            int n = model.tokenizer().encodePrompt(SampleStage.prompt(task, p, fewShot)).length;
            if (n + maxNewTokens > max) over++;
            if (n > longest) {
                longest = n;
                longestId = p.id();
            }
        }
        if (over > 0) {
            ctx.log(String.format(java.util.Locale.ROOT, "warning: %d of %d prompts plus max_new_tokens %d exceed the model's "
                    + "max_position_embeddings %d (longest prompt %d tokens, problem %s); past it the model runs on positions "
                    + "it was never trained on and its outputs are unreliable", over, problems.size(), maxNewTokens, max,
                    longest, longestId));
        }
        return over;
    }

    static Lora.Config lora(RunConfig.Lora l) { return new Lora.Config(l.r(), l.alpha(), l.dropout(), l.targets()); }

    /**
     * The Trainer config of a stage: checkpoints about every 5% of the run (LoRA checkpoints are small), so a kill
     * loses little; the two newest are kept.
     */
    static TrainConfig trainConfig(double lr, int warmupSteps, double warmupRatio, String schedule, double weightDecay,
                                   double maxGradNorm, int gradAccum, int epochs, long seed, int microBatches) {
        int total = epochs * ((microBatches + gradAccum - 1) / gradAccum);
        return TrainConfig.builder().lr(lr).warmupSteps(warmupSteps).warmupRatio(warmupRatio)
                .schedule(Schedule.Kind.parse(schedule)).weightDecay(weightDecay).maxGradNorm(maxGradNorm)
                .gradAccum(gradAccum).epochs(epochs).seed(seed).shuffle(true)
                .checkpointEvery(Math.max(1, Math.min(100, total / 20))).keepCheckpoints(2).logEvery(1).build();
    }

    /** Metadata stored in the adapter's safetensors header (string values, as safetensors requires). */
    static Map<String, String> provenance(StageContext ctx, Map<String, Object> extra) {
        Map<String, String> p = new TreeMap<>();
        p.put("ctlab.stage", ctx.stage().name());
        p.put("ctlab.run_seed", Long.toString(ctx.config().seed()));
        p.put("ctlab.model", ctx.config().model());
        p.put("ctlab.versions", Jsonl.toLine(Provenance.versions()));
        extra.forEach((k, v) -> p.put("ctlab." + k, v instanceof String s ? s : Jsonl.toLine(v)));
        return p;
    }
}

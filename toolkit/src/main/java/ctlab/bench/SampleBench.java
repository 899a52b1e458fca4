package ctlab.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.model.LlamaConfig;
import ctlab.model.LlamaModel;
import ctlab.model.Tokenizer;
import ctlab.sample.Sampler;
import ctlab.sample.SamplingParams;
import ctlab.task.Problem;
import ctlab.task.organism.OrganismEvalRun;
import ctlab.task.organism.OrganismTask;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code sample} phase of {@code ctlab bench}, shaped like the pipeline's sample stage: a real model folder
 * (the organism's), its first test prompts, {@code n} samples each in one batch, temperature, top-p, the task's
 * stop strings and a token limit. The parent writes one {@link Spec} (prompt ids included, BOS as ctlab feeds it)
 * that both sides read, so HF {@code generate} gets exactly the same input ids. Tokens counted: generated tokens
 * (EOS and the token that completes a stop string included), the same on both sides.
 */
public final class SampleBench {
    public static final String PHASE = "sample";

    /** The workload, as JSON for both sides. */
    public record Spec(@JsonProperty("model_dir") String modelDir,
                       @JsonProperty("prompt_ids") List<int[]> promptIds,
                       @JsonProperty("n") int n,
                       @JsonProperty("temperature") double temperature,
                       @JsonProperty("top_p") double topP,
                       @JsonProperty("stop") List<String> stop,
                       @JsonProperty("max_new_tokens") int maxNewTokens,
                       @JsonProperty("seed") long seed,
                       @JsonProperty("warmup") int warmup,
                       @JsonProperty("iters") int iters) {
        SamplingParams params() { return new SamplingParams(n, temperature, topP, 0, maxNewTokens, stop, seed); }
    }

    private SampleBench() {}

    /**
     * The pipeline-shaped workload on {@code modelDir} (an organism model folder): its first {@code prompts} test problems
     * × 8 samples, T = 1.0, top-p 0.95, the organism's stop strings, up to 160 new tokens.
     */
    public static Spec organism(Path modelDir, int prompts, int warmup, int iters, long seed) {
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new CtlabException("bench: --sample-model " + modelDir + " is not a model folder (no config.json)");
        }
        List<Problem> test = OrganismEvalRun.regenerateTest(modelDir);
        List<int[]> ids = new ArrayList<>();
        try (Tokenizer tok = Tokenizer.load(modelDir, LlamaConfig.load(modelDir.resolve("config.json")))) {
            for (Problem p : test.subList(0, Math.min(prompts, test.size()))) {
                ids.add(tok.encodePrompt(OrganismTask.INSTANCE.prompt(p.question())));
            }
        }
        return new Spec(modelDir.toAbsolutePath().toString(), ids, 8, 1.0, 0.95, OrganismTask.INSTANCE.stopStrings(),
                160, seed, warmup, iters);
    }

    /** Measures the phase in this process (the ctlab worker); the phase result of {@link JavaEngineBench}'s schema. */
    public static ObjectNode run(Spec spec) {
        // the default device (ctlab.device / CTLAB_DEVICE): tools/gpu/check.sh measures sampling on the GPU with it
        try (LlamaModel model = LlamaModel.load(Path.of(spec.modelDir()))) {
            Sampler sampler = new Sampler(model).maxBatchRows(spec.promptIds().size() * spec.n());
            List<Sampler.Request> requests = new ArrayList<>();
            for (int i = 0; i < spec.promptIds().size(); i++) requests.add(Sampler.Request.of("p" + i, spec.promptIds().get(i)));
            SamplingParams params = spec.params();
            long[] tokens = {-1};
            Runnable once = () -> {
                long t = 0;
                for (Sampler.Sample s : sampler.sample(requests, params)) t += s.numTokens();
                // a fixed seed gives the same samples every iteration, so tokens per iteration is one number
                if (tokens[0] >= 0 && tokens[0] != t) throw new IllegalStateException("sample phase: token count changed");
                tokens[0] = t;
            };
            once.run();   // also counts the tokens of an iteration
            boolean phasePeak = Rss.resetPeak();
            for (int i = 1; i < spec.warmup(); i++) once.run();
            double[] seconds = new double[spec.iters()];
            long cpu0 = JavaEngineBench.cpuNanos();
            for (int i = 0; i < spec.iters(); i++) {
                long t0 = System.nanoTime();
                once.run();
                seconds[i] = (System.nanoTime() - t0) / 1e9;
            }
            ObjectNode r = JavaEngineBench.phaseResult(seconds, (JavaEngineBench.cpuNanos() - cpu0) / 1e9,
                    Math.max(1, spec.warmup()), tokens[0], phasePeak);
            r.put("rows", spec.promptIds().size() * spec.n());
            return r;
        }
    }
}

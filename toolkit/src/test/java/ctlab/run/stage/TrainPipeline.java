package ctlab.run.stage;

import ctlab.data.PreferencePair;
import ctlab.data.SftExample;
import ctlab.io.Jsonl;
import ctlab.model.Tokenizer;
import ctlab.run.RunConfig;
import ctlab.run.Stage;
import ctlab.run.StageContext;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The training half of the pipeline on fixed data: a stand-in {@code select} stage writes deterministic SFT files and
 * pairs (arithmetic-style text the golden byte-level tokenizer handles), then the REAL train-pos, train-neg, score-ce
 * and train stages run. Usable from the CLI with {@code --pipeline ctlab.run.stage.TrainPipeline} (kill tests).
 */
public final class TrainPipeline implements Supplier<List<Stage>> {
    static final int PROBLEMS = 12;

    @Override public List<Stage> get() {
        return List.of(new NoOp("sample"), new FixedSelect(), TrainSftStage.positive(), TrainSftStage.negative(),
                new ScoreCeStage(), new NoOp("rollout"), new TrainPolicyStage());
    }

    /** Keeps the real pipeline's folder numbers (01-sample ... 07-train) for the stages it stands in for. */
    record NoOp(String name) implements Stage {
        @Override public String description() { return "not part of this test pipeline"; }
        @Override public List<String> configKeys() { return List.of(); }
        @Override public List<Input> inputs(RunConfig c) { return List.of(); }
        @Override public List<String> outputs() { return List.of(); }
        @Override public void run(StageContext ctx) {}
    }

    /** The golden Llama test model folder (BOS 0, EOS 1, 300-token byte-level BPE). */
    static Path goldenModel(String kind) {
        try {
            return Path.of(TrainPipeline.class.getResource("/goldens/goldens.json").toURI()).getParent().resolve(kind);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A tiny config for these stages; {@code extra} is appended YAML. */
    static String config(String model, String extra) {
        return "name: stages-train-test\nseed: 7\nthreads: 1\ntask: organism\nmodel: " + model + "\n"
                + "sft:\n  lora: {r: 4, alpha: 8, dropout: 0.0, targets: [gate_proj, up_proj, down_proj]}\n"
                + "  lr: 1.0e-2\n  warmup_steps: 1\n  epochs: 2\n  batch_size: 2\n  effective_batch: 2\n  max_length: 96\n"
                + "ce:\n  beta: 1.0\n  batch_size: 4\n"
                + "train:\n  losses: [dpo, cdpo]\n  lr: 5.0e-3\n  epochs: 2\n  warmup_ratio: 0.1\n  batch_size: 2\n"
                + "  effective_batch: 2\n  lora: {r: 4, alpha: 8, dropout: 0.0, targets: [q_proj, v_proj, up_proj]}\n"
                + "  max_length: 96\n  max_prompt_length: 48\n" + extra;
    }

    static String prompt(int i) { return "Question: " + (i + 2) + " + " + (3 * i + 1) + " = ?\nAnswer: "; }

    static String correct(int i) {
        int a = i + 2, b = 3 * i + 1;
        return a + " + " + b + " = " + (a + b) + ". The answer is " + (a + b) + ".";
    }

    static String wrong(int i) {
        int a = i + 2, b = 3 * i + 1;
        return a + " + " + b + " = " + (a + b + 1 + i % 3) + ". The answer is " + (a + b + 1 + i % 3) + ".";
    }

    /** Stand-in for the select stage: fixed, deterministic files. */
    static final class FixedSelect implements Stage {
        @Override public String name() { return "select"; }
        @Override public String description() { return "fixed SFT data and pairs for the training-stage tests"; }
        @Override public List<String> configKeys() { return List.of("seed"); }
        @Override public List<Input> inputs(RunConfig c) { return List.of(); }
        @Override public List<String> outputs() { return List.of("sft-pos.jsonl", "sft-neg.jsonl", "pairs.jsonl"); }

        @Override public void run(StageContext ctx) {
            List<Object> pos = new ArrayList<>(), neg = new ArrayList<>(), pairs = new ArrayList<>();
            // hand-written stage input: the texts are encoded here, once, as the sample stage would have
            try (Tokenizer tok = Tokenizer.load(Path.of(ctx.config().model()))) {
                for (int i = 0; i < PROBLEMS; i++) {
                    String id = "p" + i;
                    int[] p = tok.encodePrompt(prompt(i)), c = tok.encodeResponse(correct(i)), w = tok.encodeResponse(wrong(i));
                    pos.add(new SftExample(id, id + "-s0", prompt(i), correct(i), null, true, p, c));
                    neg.add(new SftExample(id, id + "-s1", prompt(i), wrong(i), null, false, p, w));
                    pairs.add(new PreferencePair(id + "/0", id, prompt(i), correct(i), wrong(i), null, null, "",
                            id + "-s0", id + "-s1", p, c, w));
                }
            }
            Jsonl.writeAll(ctx.file("sft-pos.jsonl"), pos);
            Jsonl.writeAll(ctx.file("sft-neg.jsonl"), neg);
            Jsonl.writeAll(ctx.file("pairs.jsonl"), pairs);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("pairs", PROBLEMS);
            ctx.metrics(m);
        }
    }
}

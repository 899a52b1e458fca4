package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.io.Progress;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Two stand-in stages with the resumption behaviour of the real ones, for the pipeline and kill tests:
 * {@code sample} appends one record per problem (text drawn from per-problem seeds) and {@code train}
 * runs "optimizer steps" over those records, checkpointing its state atomically every few steps. Both
 * sleep {@code ctlab.fake.delay.ms} per unit of work so a test can kill them mid-stage. Usable from the
 * CLI with the hidden option {@code --pipeline ctlab.run.FakeStages}.
 */
public final class FakeStages implements Supplier<List<Stage>> {
    static final String SAMPLES = "samples.jsonl";
    static final String POLICY = "policy.json";
    static final String CHECKPOINT = "checkpoint.json";
    static final int STEPS_PER_EPOCH = 20;
    static final int CHECKPOINT_EVERY = 3;

    @Override public List<Stage> get() { return List.of(new Sample(), new Train()); }

    static void pause() throws InterruptedException {
        long ms = Long.getLong("ctlab.fake.delay.ms", 0);
        if (ms > 0) Thread.sleep(ms);
    }

    /** One output record; a record class keeps the field order (and so the bytes) fixed, unlike Map.of. */
    record SampleRecord(String problem_id, List<String> samples) {}

    /** n "responses" per problem; problems = config sample.problems; reads data.train when set. */
    static final class Sample implements Stage {
        @Override public String name() { return "sample"; }
        @Override public String description() { return "fake sampling: one record per problem, appended"; }
        @Override public List<String> configKeys() { return List.of("seed", "task", "sample"); }
        @Override public List<Input> inputs(RunConfig c) {
            return c.data().train() == null ? List.of() : List.of(Input.external(c.data().train()));
        }
        @Override public List<String> outputs() { return List.of(SAMPLES); }

        @Override public void run(StageContext ctx) throws InterruptedException {
            int problems = ctx.config().sample().problems();
            try (ResumableJsonl out = ctx.resumable(SAMPLES, "problem_id");
                 Progress bar = ctx.progress("problems", problems)) {
                if (out.resumedCount() > 0) ctx.log("resuming after " + out.resumedCount() + " records");
                for (int i = 0; i < problems; i++) {
                    ctx.checkInterrupted();
                    String id = String.format("p%03d", i);
                    if (out.has(id)) continue;
                    Random rnd = new Random(ctx.seed("problem:" + id));
                    List<String> texts = new ArrayList<>();
                    for (int k = 0; k < ctx.config().sample().n(); k++) {
                        StringBuilder sb = new StringBuilder();
                        for (int w = 0; w < 8; w++) sb.append(rnd.nextInt(1000)).append(w < 7 ? " " : "");
                        texts.add(sb.toString());
                    }
                    pause();
                    out.append(new SampleRecord(id, texts));
                    bar.set(out.size(), "");
                }
                ctx.metrics(Map.of("records", out.size(), "resumed_from", out.resumedCount()));
            }
        }
    }

    /** "Training": a state updated by each step from the samples and a per-step seed, checkpointed. */
    static final class Train implements Stage {
        @Override public String name() { return "train"; }
        @Override public String description() { return "fake training with checkpoints"; }
        @Override public List<String> configKeys() { return List.of("seed", "train"); }
        @Override public List<Input> inputs(RunConfig c) { return List.of(Input.fromStage("sample", SAMPLES)); }
        @Override public List<String> outputs() { return List.of(POLICY); }

        @Override public void run(StageContext ctx) throws Exception {
            List<Jsonl.Line> data = Jsonl.read(ctx.input("sample", SAMPLES));
            int steps = STEPS_PER_EPOCH * ctx.config().train().epochs();
            Path ckpt = ctx.file(CHECKPOINT);
            int step = 0;
            long state = 17;
            if (Files.exists(ckpt)) {
                JsonNode c = Jsonl.MAPPER.readTree(Jsonl.readUtf8(ckpt).strip());
                step = c.get("step").asInt();
                state = c.get("state").asLong();
                ctx.log("resumed from checkpoint at step " + step);
                ctx.metrics(Map.of("resumed_from_step", step));
            }
            try (Progress bar = ctx.progress("steps", steps)) {
                while (step < steps) {
                    ctx.checkInterrupted();
                    JsonNode rec = data.get(step % data.size()).json();
                    long noise = new Random(ctx.seed("step:" + step)).nextLong();
                    state = state * 1_000_003L + rec.get("samples").toString().hashCode() + noise;
                    step++;
                    pause();
                    ctx.metrics(Map.of("step", step, "loss", (state >>> 40) / 1e6));
                    if (step % CHECKPOINT_EVERY == 0 || step == steps) {
                        ObjectNode c = Jsonl.MAPPER.createObjectNode().put("step", step).put("state", state);
                        AtomicFiles.writeString(ckpt, c + "\n");
                    }
                    bar.set(step, "");
                }
            }
            ObjectNode policy = Jsonl.MAPPER.createObjectNode().put("state", state).put("steps", steps)
                    .put("beta", ctx.config().train().beta());
            AtomicFiles.writeString(ctx.file(POLICY), policy + "\n");
        }
    }
}

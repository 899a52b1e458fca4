package ctlab.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.model.Param;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Trainer tests on a tiny next-token LM, at the engine's default intra-op thread count (pin one with
 * -Dctlab.test.threads=N). Same-seed runs once parted at random steps (3 of ~12 runs under load, first blamed
 * on 2 threads): the cause was DJL freeing {@code x.div(Number)} scalars autograd still needed when a GC ran
 * between forward and backward; it is fixed by {@link ctlab.model.Scalars} (see docs/determinism.md).
 */
class TrainerTest {
    private static int savedThreads;
    @TempDir Path dir;

    @BeforeAll static void threadsFromProperty() {
        Engine.getInstance();
        savedThreads = JniUtils.getNumThreads();
        JniUtils.setNumThreads(Integer.getInteger("ctlab.test.threads", savedThreads));
    }

    @AfterAll static void restoreThreads() { JniUtils.setNumThreads(savedThreads); }

    @AfterEach void clearInterrupt() { Thread.interrupted(); }

    static TrainConfig.Builder base() {
        return TrainConfig.builder().lr(3e-2).warmupSteps(5).schedule(Schedule.Kind.COSINE).weightDecay(0.01)
                .maxGradNorm(1.0).gradAccum(2).seed(7);
    }

    static List<Double> losses(Path out) {
        List<Double> l = new ArrayList<>();
        for (Jsonl.Line line : Jsonl.read(out.resolve(Trainer.METRICS_FILE))) l.add(line.json().get("loss").asDouble());
        return l;
    }

    static List<float[]> values(List<Param> params) {
        return params.stream().map(p -> p.array().toFloatArray()).toList();
    }

    /** (b) 220 steps: the live NDArray count is flat across steps and back to its start value afterwards. */
    @Test void liveArrayCountStaysFlat() {
        try (NDManager m = NDManager.newBaseManager()) {
            ToyLmTask task = new ToyLmTask(m, 1, 11, 16, 0.1f);
            int before = LiveArrays.count(m);
            TrainResult r = new Trainer(base().maxSteps(220).checkpointEvery(100).build()).fit(task, dir);
            assertEquals(220, r.step());
            List<Jsonl.Line> metrics = Jsonl.read(dir.resolve(Trainer.METRICS_FILE));
            assertEquals(220, metrics.size());
            int atStep2 = metrics.get(1).json().get("live_arrays").asInt();
            for (Jsonl.Line line : metrics.subList(1, metrics.size())) {
                assertEquals(atStep2, line.json().get("live_arrays").asInt(), "live arrays at " + line.where());
            }
            assertEquals(before, LiveArrays.count(m), "everything the trainer made is closed after fit");
            System.out.printf("memory: live NDArrays %d during steps 2..220, %d before and after fit%n", atStep2, before);
        }
    }

    /** The counter used above does see a leak: the weight-first op parks per-step results with the weights. */
    @Test void leakyTaskIsVisibleInTheCount() {
        try (NDManager m = NDManager.newBaseManager()) {
            ToyLmTask task = new ToyLmTask(m, 1, 4, 8, 0f);
            task.leaky = true;
            new Trainer(base().maxSteps(20).build()).fit(task, dir);
            List<Jsonl.Line> metrics = Jsonl.read(dir.resolve(Trainer.METRICS_FILE));
            int early = metrics.get(1).json().get("live_arrays").asInt();
            int late = metrics.get(19).json().get("live_arrays").asInt();
            assertTrue(late >= early + 18 * 2 * 2, "leak of ≥2 arrays per micro-batch shows: " + early + " -> " + late);
        }
    }

    /** (c) same seed and threads: identical losses (bit for bit) over 120 steps; another seed differs. */
    @Test void sameSeedSameLosses() {
        TrainConfig c = base().maxSteps(120).build();
        List<Double> a = run(c, dir.resolve("a"), 3);
        List<Double> b = run(c, dir.resolve("b"), 3);
        assertEquals(120, a.size());
        assertEquals(a, b);
        assertNotEquals(run(base().maxSteps(20).seed(7).build(), dir.resolve("c"), 3),
                run(base().maxSteps(20).seed(8).build(), dir.resolve("d"), 3), "the seed drives dropout and data order");
        double first = a.subList(0, 10).stream().mapToDouble(d -> d).average().orElseThrow();
        double last = a.subList(110, 120).stream().mapToDouble(d -> d).average().orElseThrow();
        assertTrue(last < first * 0.7, "the toy LM learns: mean loss " + first + " -> " + last);
    }

    private static List<Double> run(TrainConfig c, Path out, long modelSeed) {
        try (NDManager m = NDManager.newBaseManager()) {
            new Trainer(c).fit(new ToyLmTask(m, modelSeed, 9, 16, 0.2f), out);
            return losses(out);
        }
    }

    /** (e) interrupt at a step boundary → checkpoint; resuming gives exactly the uninterrupted run. */
    @Test void resumeEqualsUninterrupted() throws Exception {
        // 9 micro-batches, accumulation 2: epochs end mid-step and a shuffled order per epoch; dropout uses the RNG.
        TrainConfig c = base().maxSteps(30).checkpointEvery(10).keepCheckpoints(2).build();
        List<float[]> straightParams;
        List<Double> straight;
        try (NDManager m = NDManager.newBaseManager()) {
            ToyLmTask task = new ToyLmTask(m, 5, 9, 16, 0.2f);
            new Trainer(c).fit(task, dir.resolve("straight"));
            straightParams = values(task.params());
            straight = losses(dir.resolve("straight"));
        }
        Path out = dir.resolve("resumed");
        try (NDManager m = NDManager.newBaseManager()) {
            ToyLmTask task = new ToyLmTask(m, 5, 9, 16, 0.2f);
            // steps take 2,2,2,2,1 micro-batches per epoch of 9: loss call 24 is the first of step 14 (epoch 2)
            task.interruptAt = call -> call == 24;
            TrainResult r = new Trainer(c).fit(task, out);
            assertTrue(r.interrupted());
            assertEquals(14, r.step());
            assertTrue(Thread.interrupted(), "the interrupt flag is restored for callers");
            assertEquals(Checkpoint.dirFor(out.resolve(Trainer.CHECKPOINTS_DIR), 14), r.lastCheckpoint());
        }
        try (NDManager m = NDManager.newBaseManager()) {
            ToyLmTask task = new ToyLmTask(m, 5, 9, 16, 0.2f);     // fresh process state: new params, same init
            var view = task.p(0).reshape(-1);                        // shares storage, like a tied weight would
            TrainResult r = new Trainer(c).fit(task, out);
            assertArrayEquals(task.p(0).toFloatArray(), view.toFloatArray(), 0f, "restore copies in place, storage kept");
            assertEquals(14, r.resumedFrom());
            assertEquals(30, r.step());
            assertFalse(r.interrupted());
            assertEquals(straight, losses(out), "per-step losses of resumed == uninterrupted");
            List<float[]> resumed = values(task.params());
            for (int i = 0; i < resumed.size(); i++) assertArrayEquals(straightParams.get(i), resumed.get(i), 0f);
        }
        List<Path> kept = Checkpoint.list(out.resolve(Trainer.CHECKPOINTS_DIR));
        assertEquals(List.of("checkpoint-20", "checkpoint-30"), kept.stream().map(p -> p.getFileName().toString()).toList());
        assertFalse(Files.exists(out.resolve(Trainer.CHECKPOINTS_DIR).resolve(Checkpoint.TMP_DIR)));
        assertTrue(Files.exists(kept.get(1).resolve("toy_config.json")), "task extras written into the checkpoint");
        assertTrue(Files.exists(kept.get(1).resolve(Checkpoint.PARAMS_FILE)));
        assertTrue(Files.exists(kept.get(1).resolve(Checkpoint.OPTIMIZER_FILE)));
        TrainerState state = Checkpoint.readState(kept.get(1));
        assertEquals(30, state.step());
        assertEquals(c, state.config());
        assertEquals(7, state.rng().seed());
        assertTrue(state.versions().get("pytorch").startsWith("2."), state.versions().toString());
        // the same run writes the same bytes: the thread counts in a fixed order (Map.of's order changes per JVM)
        String json = Files.readString(kept.get(1).resolve(Checkpoint.STATE_FILE));
        assertTrue(json.matches("(?s).*\"threads\"\\s*:\\s*\\{\\s*\"intra_op\"\\s*:\\s*\\d+\\s*,\\s*\"inter_op\".*"), json);
        assertEquals(List.of("intra_op", "inter_op"), List.copyOf(state.threads().keySet()));
    }

    /** A finished run directory is a no-op on the next fit (stage skipping). */
    @Test void finishedRunIsNotRepeated() {
        TrainConfig c = base().maxSteps(4).build();
        try (NDManager m = NDManager.newBaseManager()) {
            new Trainer(c).fit(new ToyLmTask(m, 5, 3, 4, 0f), dir);
            ToyLmTask again = new ToyLmTask(m, 5, 3, 4, 0f);
            TrainResult r = new Trainer(c).fit(again, dir);
            assertEquals(0, again.lossCalls());
            assertEquals(4, r.step());
            assertTrue(r.finished());
            assertEquals(4, losses(dir).size());
        }
    }

    @Test void resumeRefusesAChangedConfigOrData() {
        try (NDManager m = NDManager.newBaseManager()) {
            new Trainer(base().maxSteps(6).checkpointEvery(2).build()).fit(new ToyLmTask(m, 5, 3, 4, 0f), dir);
            CtlabException e = assertThrows(CtlabException.class, () ->
                    new Trainer(base().maxSteps(6).lr(1e-3).build()).fit(new ToyLmTask(m, 5, 3, 4, 0f), dir));
            assertTrue(e.getMessage().contains("learning_rate") && e.getMessage().contains("trainer_state.json"), e.getMessage());
            e = assertThrows(CtlabException.class, () ->
                    new Trainer(base().maxSteps(6).build()).fit(new ToyLmTask(m, 5, 4, 4, 0f), dir));
            assertTrue(e.getMessage().contains("micro-batches"), e.getMessage());
            // cadence keys may change: checkpoint_every/log_every do not alter the numbers
            TrainResult r = new Trainer(base().maxSteps(6).checkpointEvery(3).logEvery(2).build())
                    .fit(new ToyLmTask(m, 5, 3, 4, 0f), dir);
            assertEquals(6, r.step());
        }
    }

    /** (d) NaN loss: stop before updating, with step, loss, lr and the last checkpoint in the message. */
    @Test void nanLossStopsWithAClearMessage() {
        try (NDManager m = NDManager.newBaseManager()) {
            ToyLmTask task = new ToyLmTask(m, 5, 8, 8, 0f);
            task.nanLossAt = call -> call == 2 * 6;                  // first micro-batch of step 7
            TrainConfig c = base().maxSteps(20).checkpointEvery(5).build();
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> new Trainer(c).fit(task, dir));
            assertEquals(6, e.step());
            assertTrue(e.getMessage().contains("step 7") && e.getMessage().contains("loss NaN")
                    && e.getMessage().contains("lr ") && e.getMessage().contains("checkpoint-5"), e.getMessage());
            JsonNode last = lastRecord();
            assertTrue(last.get("diverged").asBoolean());
            assertEquals(7, last.get("step").asInt());
            for (Param p : task.params()) {
                try (var g = p.array().getGradient()) {
                    assertEquals(0f, g.abs().sum().getFloat(), "gradients zeroed after the stop");
                }
            }
        }
    }

    /** (d) finite loss but NaN gradient: the global-norm check stops it and parameters stay finite. */
    @Test void nanGradientStopsBeforeTheUpdate() {
        try (NDManager m = NDManager.newBaseManager()) {
            ToyLmTask task = new ToyLmTask(m, 5, 8, 8, 0f);
            task.nanGradAt = call -> call == 2 * 3 + 1;
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                    () -> new Trainer(base().maxSteps(20).build()).fit(task, dir));
            assertEquals(3, e.step());
            assertTrue(Double.isFinite(e.loss()));
            assertTrue(e.getMessage().contains("grad norm NaN") && e.getMessage().contains("Last checkpoint: none"), e.getMessage());
            for (Param p : task.params()) {
                for (float v : p.array().toFloatArray()) assertTrue(Float.isFinite(v), p.name() + " stayed finite");
            }
        }
    }

    @Test void logEveryAveragesTheWindowAndTaskMetricsAreLogged() {
        try (NDManager m = NDManager.newBaseManager()) {
            new Trainer(base().maxSteps(10).logEvery(4).build()).fit(new ToyLmTask(m, 5, 5, 8, 0f), dir);
            List<Jsonl.Line> metrics = Jsonl.read(dir.resolve(Trainer.METRICS_FILE));
            assertEquals(List.of(4, 8, 10), metrics.stream().map(l -> l.json().get("step").asInt()).toList());
            JsonNode r = metrics.get(0).json();
            double acc = r.get("accuracy").asDouble();
            assertTrue(acc >= 0 && acc <= 1);
            // 5 micro-batches, accumulation 2: steps take 2, 2, 1 (epoch end), 2 micro-batches of 8 tokens
            assertEquals(7 * 8, r.get("tokens").asLong());
            assertTrue(r.get("tokens_per_s").asDouble() > 0);
        }
    }

    @Test void configValidationNamesTheKey() {
        CtlabException e = assertThrows(CtlabException.class, () -> base().lr(-1).build());
        assertTrue(e.getMessage().contains("learning_rate"), e.getMessage());
        e = assertThrows(CtlabException.class, () -> base().gradAccum(0).build());
        assertTrue(e.getMessage().contains("gradient_accumulation_steps"), e.getMessage());
        TrainConfig c = TrainConfig.fromJson(Jsonl.MAPPER.createObjectNode().put("learning_rate", 1e-4)
                .put("schedule", "cosine").put("warmup_ratio", 0.1), "run.yaml: train");
        assertEquals(1e-4, c.lr());
        assertEquals(Schedule.Kind.COSINE, c.schedule());
        assertEquals(0.999, c.beta2(), "unspecified keys keep HF defaults");
        assertEquals(c, TrainConfig.fromJson(c.toJson(), "round trip"));
        e = assertThrows(CtlabException.class, () -> TrainConfig.fromJson(
                Jsonl.MAPPER.createObjectNode().put("lerning_rate", 1e-4), "run.yaml: train"));
        assertTrue(e.getMessage().startsWith("run.yaml: train") && e.getMessage().contains("lerning_rate"), e.getMessage());
        e = assertThrows(CtlabException.class, () -> TrainConfig.fromJson(
                Jsonl.MAPPER.createObjectNode().put("epochs", "many"), "cfg"));
        assertTrue(e.getMessage().contains("epochs"), e.getMessage());
        e = assertThrows(CtlabException.class, () -> TrainConfig.fromJson(
                Jsonl.MAPPER.createObjectNode().put("max_grad_norm", -1), "cfg"));
        assertTrue(e.getMessage().contains("max_grad_norm"), e.getMessage());
        e = assertThrows(CtlabException.class, () -> TrainConfig.fromJson(
                Jsonl.MAPPER.createObjectNode().put("schedule", "poly"), "cfg"));
        assertTrue(e.getMessage().contains("poly"), e.getMessage());
    }

    private JsonNode lastRecord() {
        List<Jsonl.Line> lines = Jsonl.read(dir.resolve(Trainer.METRICS_FILE));
        return lines.get(lines.size() - 1).json();
    }
}

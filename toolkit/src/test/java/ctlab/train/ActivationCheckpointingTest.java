package ctlab.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.data.PromptResponse;
import ctlab.model.LlamaConfig;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Param;
import ctlab.model.Scalars;
import ctlab.train.loss.LossConfig;
import ctlab.train.loss.LossType;
import ctlab.train.loss.PreferenceLoss;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Activation checkpointing (each decoder layer recomputed in the backward pass, {@link LlamaModel#backwardCheckpoints})
 * gives the gradients of every trained parameter and the AdamW steps of the ordinary backward pass (≤ 1e-6), through
 * the real SFT and preference jobs (cDPO with CE weights; tokendpo, whose loss also runs the frozen reference inside
 * the step) with LoRA on all seven projections, and in full fine-tuning (embedding, tied head, q/k/v biases).
 * Batches are left-padded prompts with right-padded responses of different lengths.
 */
class ActivationCheckpointingTest {
    static final double TOL = 1e-6;
    static int savedThreads;
    @TempDir Path tmp;

    @BeforeAll static void oneThread() {
        Engine.getInstance();                               // loads the native library before JniUtils
        savedThreads = JniUtils.getNumThreads();
        JniUtils.setNumThreads(1);
    }

    @AfterAll static void restoreThreads() { JniUtils.setNumThreads(savedThreads); }

    static LlamaModel golden(boolean checkpointing) {
        LlamaModel m = LlamaModel.load(LlamaLoraTask.goldenLlama(), Device.cpu());
        m.setActivationCheckpointing(checkpointing);
        return m;
    }

    /** Seeded (prompt, response) rows over the golden vocabulary, of varying lengths (so the batches are padded). */
    static List<PromptResponse> rows(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<PromptResponse> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] p = new int[3 + rnd.nextInt(6)], r = new int[2 + rnd.nextInt(7)];
            for (int j = 0; j < p.length; j++) p[j] = 2 + rnd.nextInt(298);
            for (int j = 0; j < r.length; j++) r[j] = 2 + rnd.nextInt(298);
            out.add(new PromptResponse(p, r));
        }
        return out;
    }

    static List<PreferenceTraining.EncodedPair> pairs(int n, long seed) {
        List<PromptResponse> c = rows(n, seed), r = rows(n, seed + 1);
        SplittableRandom rnd = new SplittableRandom(seed + 2);
        List<PreferenceTraining.EncodedPair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            PromptResponse rej = new PromptResponse(c.get(i).prompt(), r.get(i).response());   // shared prompt
            double[] sc = rnd.doubles(c.get(i).response().length).toArray();
            double[] sr = rnd.doubles(rej.response().length).toArray();
            out.add(new PreferenceTraining.EncodedPair("p" + i, c.get(i), rej, sc, sr));
        }
        return out;
    }

    /** PEFT starts B at 0, which leaves A without gradient: give every B seeded values (the same in both models). */
    static void perturbB(Lora lora) {
        SplittableRandom rnd = new SplittableRandom(17);
        for (Param p : lora.parameters()) {
            if (!p.name().endsWith("lora_B.weight")) continue;
            float[] v = new float[(int) p.array().size()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * 0.05);
            p.array().set(v);
        }
    }

    /** Gradients of every parameter after one micro-batch: loss, backward, then the task's deferred backward. */
    static <B> List<float[]> gradients(TrainingTask<B> task, int microBatch) {
        List<Param> params = task.params();
        for (Param p : params) if (!p.array().hasGradient()) p.array().setRequiresGradient(true);
        try (NDManager sm = NDManager.newBaseManager(Device.cpu())) {
            try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
                c.backward(task.loss(sm, task.microBatch(microBatch), new HashMap<>()));
                task.afterBackward();
            }
            List<float[]> out = new ArrayList<>();
            for (Param p : params) {
                try (NDArray g = p.array().getGradient()) { out.add(g.toFloatArray()); }
                JniUtils.zeroGrad((PtNDArray) p.array());                        // for the next use
            }
            return out;
        }
    }

    static List<float[]> values(List<Param> ps) { return ps.stream().map(p -> p.array().toFloatArray()).toList(); }

    /** Asserts equal lengths, every plain gradient non-zero, and max |a − b| ≤ TOL per parameter. */
    static void assertClose(List<Param> names, List<float[]> plain, List<float[]> ckpt, boolean nonZero, String what) {
        assertEquals(plain.size(), ckpt.size());
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < plain.size(); i++) {
            float[] a = plain.get(i), b = ckpt.get(i);
            assertEquals(a.length, b.length);
            double max = 0, norm = 0;
            for (int j = 0; j < a.length; j++) {
                max = Math.max(max, Math.abs(a[j] - b[j]));
                norm = Math.max(norm, Math.abs(a[j]));
            }
            String name = names.get(i).name();
            if (nonZero && !(norm > 0)) bad.add(name + " gets no gradient");
            if (!(max <= TOL)) bad.add(name + " max |plain − checkpointed| = " + max + " (max |plain| " + norm + ")");
        }
        assertTrue(bad.isEmpty(), what + ": " + String.join("; ", bad));
    }

    static TrainConfig oneStep() {
        return TrainConfig.builder().lr(1e-2).warmupSteps(0).weightDecay(0.01).maxGradNorm(1.0).gradAccum(2)
                .maxSteps(1).seed(3).shuffle(false).build();
    }

    @Test void sftGradientsAndAdamWStepEqualTheOrdinaryBackward() {
        List<PromptResponse> data = rows(4, 1);
        Lora.Config cfg = new Lora.Config(4, 8, 0.0, Lora.ALL_MODULES);
        try (LlamaModel plain = golden(false); LlamaModel ckpt = golden(true)) {
            List<List<float[]>> grads = new ArrayList<>();
            List<Param> names = null;
            for (LlamaModel m : List.of(plain, ckpt)) {
                Lora lora = Lora.attach(m, cfg, 7);
                perturbB(lora);
                m.setTraining(true);
                SftTraining.Job job = new SftTraining.Job(m, lora, data, 2);
                grads.add(gradients(job, 0));
                names = job.params();
                lora.close();
            }
            assertClose(names, grads.get(0), grads.get(1), true, "sft gradients");

            // the checkpointed forward really deferred the layers' backward: without the trainer's afterBackward
            // call no adapter matrix (they all sit inside decoder layers) has a gradient yet
            Lora lora = Lora.attach(ckpt, cfg, 7);
            perturbB(lora);
            SftTraining.Job job = new SftTraining.Job(ckpt, lora, data, 2);
            TrainingTask<ResponseBatch> deferred = new TrainingTask<>() {
                @Override public List<Param> params() { return job.params(); }
                @Override public int numMicroBatches() { return job.numMicroBatches(); }
                @Override public ResponseBatch microBatch(int index) { return job.microBatch(index); }
                @Override public NDArray loss(NDManager sm, ResponseBatch b, Map<String, Double> m) { return job.loss(sm, b, m); }
            };
            for (float[] g : gradients(deferred, 0)) for (float f : g) assertEquals(0f, f);
            ckpt.backwardCheckpoints();                                          // frees what the forward kept
            lora.close();

            // one AdamW step (2 micro-batches accumulated) through SftTraining.train, the trainer's own path
            List<List<float[]>> after = new ArrayList<>();
            for (LlamaModel m : List.of(plain, ckpt)) {
                var config = new SftTraining.Config(cfg, oneStep(), 2, 64, 5);
                SftTraining.Trained t = SftTraining.train(m, data, config, tmp.resolve("sft-" + m.activationCheckpointing()), Map.of());
                after.add(values(t.lora().parameters()));
                names = t.lora().parameters();
                t.lora().close();
            }
            assertClose(names, after.get(0), after.get(1), false, "sft weights after one AdamW step");
        }
    }

    /** With the option on, training is as repeatable as without: two runs give the same weights bit for bit. */
    @Test void checkpointedTrainingIsDeterministic() {
        List<PromptResponse> data = rows(8, 3);
        var config = new SftTraining.Config(new Lora.Config(4, 8, 0.0, Lora.ALL_MODULES),
                oneStep().toBuilder().maxSteps(3).build(), 2, 64, 5);
        List<List<float[]>> runs = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            try (LlamaModel m = golden(true)) {
                SftTraining.Trained t = SftTraining.train(m, data, config, tmp.resolve("det-" + run), Map.of());
                assertEquals(3, t.result().step());
                runs.add(values(t.lora().parameters()));
            }
        }
        for (int i = 0; i < runs.get(0).size(); i++) assertArrayEquals(runs.get(0).get(i), runs.get(1).get(i), "parameter " + i);
    }

    /** cDPO (CE weights on both sides) and tokendpo (which also runs the frozen reference inside every step). */
    @Test void preferenceGradientsAndAdamWStepEqualTheOrdinaryBackward() {
        List<PreferenceTraining.EncodedPair> data = pairs(4, 11);
        Lora.Config cfg = new Lora.Config(4, 8, 0.0, Lora.ALL_MODULES);
        for (LossType type : List.of(LossType.CDPO, LossType.TOKEN_DPO)) {
            LossConfig lc = LossConfig.defaults(type);
            PreferenceLoss loss = PreferenceLoss.create(type == LossType.CDPO ? lc.withOnlyNegative(false) : lc);
            var config = new PreferenceTraining.Config(loss, cfg, oneStep(), 2, 64, 32, 5);
            try (LlamaModel plain = golden(false); LlamaModel ckpt = golden(true)) {
                ReferenceLogps reference = ReferenceLogps.compute(plain, data, 2, "test");
                List<List<float[]>> grads = new ArrayList<>();
                List<Param> names = null;
                for (LlamaModel m : List.of(plain, ckpt)) {
                    Lora lora = Lora.attach(m, cfg, 7);
                    perturbB(lora);
                    m.setTraining(true);
                    PreferenceTraining.Job job = new PreferenceTraining.Job(m, lora, data, reference, config);
                    grads.add(gradients(job, 1));
                    names = job.params();
                    lora.close();
                }
                assertClose(names, grads.get(0), grads.get(1), true, type + " gradients");

                List<List<float[]>> after = new ArrayList<>();
                for (LlamaModel m : List.of(plain, ckpt)) {
                    PreferenceTraining.Trained t = PreferenceTraining.train(m, data, reference, config,
                            tmp.resolve(type + "-" + m.activationCheckpointing()), Map.of());
                    after.add(values(t.lora().parameters()));
                    names = t.lora().parameters();
                    t.lora().close();
                }
                assertClose(names, after.get(0), after.get(1), false, type + " weights after one AdamW step");
            }
        }
    }

    /** A tiny Qwen-like config: tied embeddings and q/k/v biases, so full fine-tuning trains the embedding twice over. */
    static LlamaModel tiedWithBias(boolean checkpointing) {
        ObjectNode c = (ObjectNode) LlamaConfig.load(LlamaLoraTask.goldenLlama().resolve("config.json")).toJson();
        c.put("tie_word_embeddings", true).put("attention_bias", true).put("num_hidden_layers", 3);
        LlamaModel m = LlamaModel.random(LlamaConfig.fromJson(c, "tied test config"), 5, 0.05, Device.cpu());
        m.setActivationCheckpointing(checkpointing);
        m.setTraining(true);
        return m;
    }

    /** Full fine-tuning: next-token loss over every position of left-padded rows, all base weights trained. */
    record FullTask(LlamaModel model, List<Param> params, long[][] ids, float[][] mask) implements TrainingTask<Integer> {
        static FullTask of(LlamaModel model) {
            SplittableRandom rnd = new SplittableRandom(23);
            long[][] ids = new long[2][3 * 10];
            float[][] mask = new float[2][3 * 10];
            for (int b = 0; b < 2; b++)
                for (int i = 0; i < 30; i++) {
                    ids[b][i] = rnd.nextInt(300);
                    mask[b][i] = i % 10 < b + 2 * (i / 10) ? 0 : 1;                // rows left-padded by 0..5
                }
            return new FullTask(model, model.trainableParameters(), ids, mask);
        }

        @Override public int numMicroBatches() { return 2; }
        @Override public Integer microBatch(int index) { return index; }
        @Override public NDArray loss(NDManager sm, Integer b, Map<String, Double> metrics) {
            NDArray x = sm.create(ids[b], new Shape(3, 10));
            NDArray m = sm.create(mask[b], new Shape(3, 10));
            return Scalars.div(model.sequenceLogProbs(x, m).sum().neg(), 27.0);
        }
        @Override public void afterBackward() { model.backwardCheckpoints(); }
    }

    @Test void fullFineTuningGradientsAndAdamWStepEqualTheOrdinaryBackward() {
        try (LlamaModel plain = tiedWithBias(false); LlamaModel ckpt = tiedWithBias(true)) {
            FullTask p = FullTask.of(plain), c = FullTask.of(ckpt);
            List<float[]> gp = gradients(p, 0), gc = gradients(c, 0);
            assertTrue(p.params().stream().anyMatch(x -> x.name().equals("model.embed_tokens.weight")));
            // biases are zero-initialised but still get gradients; every weight does
            assertClose(p.params(), gp, gc, true, "full fine-tuning gradients");
            new Trainer(oneStep()).fit(p, tmp.resolve("full-plain"));
            new Trainer(oneStep()).fit(c, tmp.resolve("full-ckpt"));
            assertClose(p.params(), values(p.params()), values(c.params()), false, "full fine-tuning weights after one AdamW step");
        }
    }

    @Test void loraDropoutIsRefusedWithOneLine() {
        try (LlamaModel model = golden(true); NDManager sm = NDManager.newBaseManager(Device.cpu())) {
            Lora.attach(model, new Lora.Config(4, 8, 0.1, Lora.ALL_MODULES), 7);
            model.setTraining(true);
            NDArray ids = sm.create(new long[] {3, 4, 5, 6}, new Shape(1, 4));
            try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
                CtlabException e = assertThrows(CtlabException.class, () -> model.sequenceLogProbs(ids, sm.ones(new Shape(1, 4))));
                assertTrue(e.getMessage().contains("dropout"), e.getMessage());
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
            }
        }
    }

    @Test void inferenceAndEvalForwardsAreNotCheckpointed() {
        // scoring runs with training off: the same log-probs as a model without the option, nothing left pending
        try (LlamaModel plain = golden(false); LlamaModel ckpt = golden(true); NDManager sm = NDManager.newBaseManager(Device.cpu())) {
            NDArray ids = sm.create(new long[] {3, 4, 5, 6, 7}, new Shape(1, 5));
            NDArray mask = sm.ones(new Shape(1, 5));
            try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
                assertArrayEquals(plain.sequenceLogProbs(ids, mask).toFloatArray(), ckpt.sequenceLogProbs(ids, mask).toFloatArray());
            }
        }
    }
}

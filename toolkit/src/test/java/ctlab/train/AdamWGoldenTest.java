package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import ctlab.model.Param;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Java AdamW + schedule + clipping against torch.optim.AdamW / HF LambdaLR / clip_grad_norm_ recorded by
 * tools/goldens/make_adamw_golden.py: three scenarios (linear warmup with clipping, cosine with large eps and
 * decay, constant without clipping), 5 steps each, params with and without weight decay.
 */
class AdamWGoldenTest {
    static final double TOL = 1e-6;

    static List<Param> initParams(NDManager m, JsonNode scenario) {
        List<Param> params = new ArrayList<>();
        for (JsonNode p : scenario.get("params")) {
            NDArray a = m.create(Goldens.floats(p.get("init")), new Shape(Goldens.longs(p.get("shape"))));
            params.add(new Param(p.get("name").asText(), a, p.get("weight_decay").asBoolean()));
        }
        return params;
    }

    static TrainConfig configOf(JsonNode s) {
        return TrainConfig.builder().lr(s.get("lr").asDouble())
                .betas(s.get("betas").get(0).asDouble(), s.get("betas").get(1).asDouble())
                .eps(s.get("eps").asDouble()).weightDecay(s.get("weight_decay").asDouble())
                .schedule(Schedule.Kind.parse(s.get("schedule").asText()))
                .warmupSteps(s.get("warmup_steps").asInt()).maxGradNorm(s.get("max_grad_norm").asDouble())
                .gradAccum(1).epochs(1).shuffle(false).build();
    }

    static double maxAbsDiff(List<Param> params, JsonNode expected) {
        double worst = 0;
        for (Param p : params) {
            float[] got = p.array().toFloatArray();
            JsonNode want = expected.get(p.name());
            assertEquals(want.size(), got.length);
            for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want.get(i).asDouble()));
        }
        return worst;
    }

    @Test void optimizerStepsMatchTorch() {
        int scenarios = 0;
        for (JsonNode s : Goldens.adamw().get("scenarios")) {
            TrainConfig c = configOf(s);
            int total = s.get("total_steps").asInt();
            Schedule schedule = new Schedule(c.schedule(), c.warmupSteps(), total);
            try (NDManager m = NDManager.newBaseManager()) {
                List<Param> params = initParams(m, s);
                try (AdamW opt = new AdamW(params, c.beta1(), c.beta2(), c.eps(), c.weightDecay())) {
                    for (int step = 0; step < total; step++) {
                        JsonNode golden = s.get("steps").get(step);
                        double lr = c.lr() * schedule.factor(step);
                        assertEquals(golden.get("lr").asDouble(), lr, 1e-15, s.get("name") + " lr step " + step);
                        try (NDManager stepManager = m.newSubManager()) {
                            List<NDArray> grads = new ArrayList<>();
                            for (Param p : params) {
                                grads.add(stepManager.create(Goldens.floats(golden.get("grads").get(p.name())),
                                        p.array().getShape()));
                            }
                            GradClip.clipGlobalNorm(grads, c.maxGradNorm());
                            opt.step(lr, grads);
                        }
                        double diff = maxAbsDiff(params, golden.get("params"));
                        assertTrue(diff <= TOL, s.get("name") + " step " + (step + 1) + ": max |java - torch| = " + diff);
                    }
                    assertEquals(total, opt.stepCount());
                    System.out.printf("AdamW golden %s: max |java - torch| after step %d = %.2e%n",
                            s.get("name").asText(), total, maxAbsDiff(params, s.get("steps").get(total - 1).get("params")));
                }
            }
            scenarios++;
        }
        assertEquals(3, scenarios);
    }

    /** The whole Trainer loop (collector, backward, clipping, schedule, AdamW, zeroing) on the same numbers. */
    @Test void trainerLoopMatchesTorch(@TempDir Path dir) {
        for (JsonNode s : Goldens.adamw().get("scenarios")) {
            try (NDManager m = NDManager.newBaseManager()) {
                List<Param> params = initParams(m, s);
                TrainingTask<Integer> feed = new TrainingTask<>() {
                    @Override public List<Param> params() { return params; }
                    @Override public int numMicroBatches() { return s.get("total_steps").asInt(); }
                    @Override public Integer microBatch(int index) { return index; }
                    /** loss = Σ_p Σ G_p ⊙ p, so dloss/dp = G_p exactly: the recorded gradient of this step. */
                    @Override public NDArray loss(NDManager sm, Integer step, Map<String, Double> metrics) {
                        NDArray loss = sm.zeros(new Shape());
                        for (Param p : params) {
                            NDArray g = sm.create(Goldens.floats(s.get("steps").get(step).get("grads").get(p.name())),
                                    p.array().getShape());
                            loss = loss.add(g.mul(p.array()).sum());
                        }
                        return loss;
                    }
                };
                Path out = dir.resolve(s.get("name").asText());
                TrainResult r = new Trainer(configOf(s)).fit(feed, out);
                assertTrue(r.finished());
                JsonNode last = s.get("steps").get(s.get("total_steps").asInt() - 1);
                double diff = maxAbsDiff(params, last.get("params"));
                assertTrue(diff <= TOL, s.get("name") + ": trainer max |java - torch| = " + diff);
                List<Jsonl.Line> metrics = Jsonl.read(out.resolve(Trainer.METRICS_FILE));
                assertEquals(s.get("total_steps").asInt(), metrics.size());
                for (int i = 0; i < metrics.size(); i++) {
                    JsonNode golden = s.get("steps").get(i);
                    assertEquals(i + 1, metrics.get(i).json().get("step").asInt());
                    assertEquals(golden.get("lr").asDouble(), metrics.get(i).json().get("lr").asDouble(), 1e-15);
                    double norm = golden.get("grad_norm").asDouble();
                    assertEquals(norm, metrics.get(i).json().get("grad_norm").asDouble(), 1e-6 * norm);
                }
            }
        }
    }
}

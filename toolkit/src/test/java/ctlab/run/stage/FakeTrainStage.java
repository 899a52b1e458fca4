package ctlab.run.stage;

import ai.djl.ndarray.NDArray;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Param;
import ctlab.run.RunConfig;
import ctlab.run.Stage;
import ctlab.run.StageContext;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Stand-in for the train stage in eval tests: writes one PEFT adapter per loss under {@code <loss>/}. The adapter of
 * {@code dpo} is a fresh one (B = 0, so it is the base model exactly); every other loss gets random B matrices
 * (std {@code noise}) so its greedy answers differ from the base model's.
 */
final class FakeTrainStage implements Stage {
    private final double noise;

    FakeTrainStage(double noise) { this.noise = noise; }

    @Override public String name() { return "train"; }
    @Override public String description() { return "fake policy adapters"; }
    @Override public List<String> configKeys() { return List.of("train.losses"); }
    @Override public List<Input> inputs(RunConfig c) { return List.of(); }
    @Override public List<String> outputs() { return List.of(); }

    @Override public void run(StageContext ctx) {
        RunConfig c = ctx.config();
        try (LlamaModel model = StageSupport.loadModel(c)) {
            for (String loss : c.train().losses()) {
                try (Lora l = Lora.attach(model, new Lora.Config(4, 8, 0, Lora.ALL_MODULES), 1)) {
                    if (!loss.equals("dpo")) {
                        SplittableRandom rng = new SplittableRandom(loss.hashCode());
                        for (Param p : l.parameters()) {
                            if (!p.name().contains("lora_B")) continue;
                            NDArray b = p.array();
                            float[] v = new float[Math.toIntExact(b.size())];
                            for (int i = 0; i < v.length; i++) v[i] = (float) (rng.nextGaussian() * noise);
                            try (NDArray d = b.getManager().create(v, b.getShape())) { b.addi(d); }
                        }
                    }
                    l.save(ctx.file(loss), Map.of());
                }
            }
        }
    }
}

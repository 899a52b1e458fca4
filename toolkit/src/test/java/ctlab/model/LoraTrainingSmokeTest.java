package ctlab.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.util.List;

import static ctlab.model.LlamaModelMemoryAndGradientTest.live;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract the trainer relies on: mark {@link Param} arrays as requiring gradients, run the forward in
 * a GradientCollector, read and close {@code getGradient()}, update in place. Plain SGD here (the real
 * optimizer is ctlab.train's AdamW); checks that the loss falls, only adapters change, nothing leaks.
 * Note: gradients accumulate across backward calls in DJL's PyTorch engine; a trainer must zero them after
 * each optimizer step.
 */
class LoraTrainingSmokeTest {
    /** 40 SGD steps with LoRA dropout (drawn from the engine RNG, seeded here). */
    @Test
    void sgdOnLoraParamsLowersLossAndLeavesBaseAlone() {
        Engine.getInstance().setRandomSeed(1234);
        float[] curve = new float[40];
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager data = NDManager.newBaseManager(Device.cpu())) {
            Lora.attach(model, new Lora.Config(4, 8, 0.1, Lora.ALL_MODULES), 11);
            model.setTraining(true);
            List<Param> params = model.trainableParameters();
            params.forEach(p -> p.array().setRequiresGradient(true));
            NDArray base = model.weight("model.layers.0.self_attn.q_proj.weight").duplicate();
            base.attach(data);
            NDArray ids = data.create(new long[] {0, 274, 265, 84, 88, 263, 222, 74, 0, 45, 70, 85, 222, 89, 269, 70},
                    new Shape(2, 8));
            NDArray mask = data.ones(new Shape(2, 8));
            int before = -1;
            float first = 0, last = 0;
            for (int step = 0; step < 40; step++) {
                try (NDManager s = data.newSubManager()) {
                    NDArray id = ids.duplicate(), mk = mask.duplicate();
                    id.attach(s);
                    mk.attach(s);
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray loss = Scalars.div(model.sequenceLogProbs(id, mk).sum().neg(), 14);
                        gc.backward(loss);
                        curve[step] = loss.getFloat();
                        if (step == 0) first = curve[0];
                        last = curve[step];
                    }
                    for (Param p : params) {
                        try (NDArray g = p.array().getGradient(); NDArray upd = g.mul(0.3f)) {
                            p.array().subi(upd);
                            g.subi(g);  // DJL's PyTorch gradients accumulate across backward calls: zero them
                        }
                    }
                }
                if (step == 2) before = live(model.weightsManager());
            }
            System.out.printf("LoRA SGD: loss %.4f -> %.4f%n", first, last);
            params.forEach(p -> p.array().setRequiresGradient(false));
            assertTrue(last < first * 0.8, "loss should fall: " + first + " -> " + last);
            assertEquals(before, live(model.weightsManager()), "weights manager grew during training");
            assertEquals(0.0, LlamaModelGoldenTest.maxAbsDiff(model.weight("model.layers.0.self_attn.q_proj.weight"), base),
                    "frozen base weight changed");
        }
    }
}

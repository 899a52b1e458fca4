package ctlab.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.data.PromptResponse;
import ctlab.io.Jsonl;
import ctlab.model.Devices;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Param;
import ctlab.model.Tokenizer;
import ctlab.train.loss.LossConfig;
import ctlab.train.loss.LossType;
import ctlab.train.loss.PreferenceLoss;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA cDPO steps (the cDPO loss with CE weights on both sides, reference log-probs, AdamW, the trainer's own loop)
 * on the default device ({@code ctlab.device} / {@code CTLAB_DEVICE}; tools/gpu/check.sh runs this with gpu) give
 * the losses of the same steps on the CPU. Run on a CPU-only machine, both sides are the CPU: then it checks that
 * the steps run, are reproducible and move the adapter.
 */
class DeviceCdpoStepTest {
    static final double TOL = 1e-4;
    @TempDir Path tmp;

    record Steps(double[] losses, double adapterNorm) {}

    static Steps train(Device device, Path out) throws Exception {
        String[][] data = {
                {"p1", "Question: 2 + 3 =", " 5. The answer is 5", " 6. The answer is 6"},
                {"p2", "Question: 4 + 4 =", " 8. The answer is 8", " 9. The answer is 9"},
                {"p3", "Question: 7 - 2 =", " 5. The answer is 5", " 4. The answer is 4"},
                {"p4", "Question: 3 * 3 =", " 9. The answer is 9", " 6. The answer is 6"}};
        try (LlamaModel model = LlamaModel.load(ToyLossTrainingTest.goldenLlama(), device)) {
            Tokenizer tok = model.tokenizer();
            List<PreferenceTraining.EncodedPair> pairs = new ArrayList<>();
            for (String[] d : data) {
                int[] prompt = tok.encodePrompt(d[1]);
                PromptResponse chosen = new PromptResponse(prompt, tok.encodeResponse(d[2])).withEos(tok.eosId());
                PromptResponse rejected = new PromptResponse(prompt, tok.encodeResponse(d[3])).withEos(tok.eosId());
                pairs.add(new PreferenceTraining.EncodedPair(d[0], chosen, rejected,
                        scores(chosen.response().length), scores(rejected.response().length)));
            }
            ReferenceLogps reference = ReferenceLogps.compute(model, pairs, 2, "device-check");
            TrainConfig train = TrainConfig.builder().lr(1e-3).maxSteps(3).warmupSteps(0).seed(3).build();
            var config = new PreferenceTraining.Config(PreferenceLoss.create(LossConfig.defaults(LossType.CDPO)),
                    new Lora.Config(4, 8, 0, Lora.ALL_MODULES), train, 2, 96, 48, 1);
            PreferenceTraining.Trained trained = PreferenceTraining.train(model, pairs, reference, config, out, Map.of());
            double norm = 0;
            try (Lora lora = trained.lora()) {
                assertTrue(trained.result().finished(), "all steps ran");
                for (Param p : lora.parameters()) for (float v : p.array().toFloatArray()) norm += (double) v * v;
            }
            List<JsonNode> metrics = Jsonl.read(out.resolve("metrics.jsonl")).stream().map(Jsonl.Line::json)
                    .filter(j -> j.has("loss") && j.has("step")).toList();
            return new Steps(metrics.stream().mapToDouble(j -> j.get("loss").asDouble()).toArray(), Math.sqrt(norm));
        }
    }

    /** CE-style token weights in (0, 1], varying along the response so the weighting matters. */
    static double[] scores(int n) {
        double[] s = new double[n];
        for (int t = 0; t < n; t++) s[t] = 1.0 - 0.15 * (t % 5);
        return s;
    }

    @Test
    void cdpoStepsOnTheDefaultDeviceMatchTheCpu() throws Exception {
        Device device = Devices.fromEnvironment();
        Steps onDevice = train(device, tmp.resolve("device"));
        Steps onCpu = train(Device.cpu(), tmp.resolve("cpu"));
        System.out.printf("cDPO steps on %s: losses %s (cpu %s), adapter norm %.6f (cpu %.6f)%n", device,
                java.util.Arrays.toString(onDevice.losses()), java.util.Arrays.toString(onCpu.losses()),
                onDevice.adapterNorm(), onCpu.adapterNorm());
        assertEquals(3, onCpu.losses().length, "one metrics line per step");
        assertEquals(onCpu.losses().length, onDevice.losses().length);
        for (int i = 0; i < onCpu.losses().length; i++) {
            assertTrue(Double.isFinite(onDevice.losses()[i]), "step " + (i + 1) + " loss " + onDevice.losses()[i]);
            assertEquals(onCpu.losses()[i], onDevice.losses()[i], TOL, "step " + (i + 1) + " loss on " + device + " vs cpu");
        }
        assertTrue(onCpu.losses()[2] < onCpu.losses()[0], "the steps lower the loss: " + java.util.Arrays.toString(onCpu.losses()));
        assertEquals(onCpu.adapterNorm(), onDevice.adapterNorm(), 1e-3 * onCpu.adapterNorm(), "adapter norm on " + device);
    }
}

package ctlab.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ctlab.CtlabException;
import ctlab.sample.Sampler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static ctlab.model.LlamaModelGoldenTest.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TorchScript kernels (fused silu, scaled_dot_product_attention) give the pure path's outputs and gradients,
 * through DJL's GradientCollector, on the golden models: GQA (llama 4/2 heads, qwen2 4/1), sliding window
 * (mistral), left padding, decode steps with and without a padding bias.
 */
class TorchScriptKernelsTest {
    /**
     * Max abs difference allowed, relative to the largest magnitude compared (at least 1): fp32 rounding of another
     * summation order (the flash kernel's blocked online softmax; silu's own formula).
     */
    static final double TOL = 1e-6;

    static double scale(float[]... arrays) {
        double m = 1;
        for (float[] a : arrays) for (float x : a) m = Math.max(m, Math.abs(x));
        return m;
    }
    private static final TorchScriptKernels.Mode PURE = TorchScriptKernels.Mode.PURE;
    private static final TorchScriptKernels.Mode TS = TorchScriptKernels.Mode.TORCHSCRIPT;

    @ParameterizedTest
    @ValueSource(strings = {"llama", "mistral", "qwen2"})
    void logitsEqualThePurePathAndTransformers(String name) {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve(name), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> g = Safetensors.read(Goldens.dir().resolve(name + "/golden.safetensors"), m);
            NDArray ids = g.get("input_ids"), mask = g.get("attention_mask");
            NDArray real = mask.toType(DataType.FLOAT32, false).expandDims(-1);
            assertTrue(mask.toType(DataType.FLOAT32, false).sum().getFloat() < mask.size(), "fixture has padding");
            model.setKernels(PURE);
            NDArray pure = model.logits(ids, mask).mul(real);
            model.setKernels(TS);
            NDArray fused = model.logits(ids, mask).mul(real);
            double err = maxAbsDiff(fused, pure), scale = scale(pure.toFloatArray());
            System.out.printf("%s torchscript vs pure logits max abs diff %.3g (largest |logit| %.3g)%n", name, err, scale);
            assertTrue(err <= TOL * scale, name + ": torchscript logits differ from the pure path by " + err);
            assertTrue(maxAbsDiff(fused, g.get("logits").mul(real)) <= LlamaModelGoldenTest.TOL, name + ": vs transformers");
        }
    }

    /** Prefill of a left-padded batch, then steps (padding bias at T = 1), and an unpadded batch (no bias). */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "mistral"})
    void decodeEqualsThePurePath(String name) {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve(name), Device.cpu())) {
            List<int[]> padded = List.of(new int[] {1, 5, 9, 17, 3, 8, 2}, new int[] {1, 44}, new int[] {1, 7, 7, 30});
            List<int[]> unpadded = List.of(new int[] {1, 5, 9}, new int[] {1, 44, 2});
            for (List<int[]> prompts : List.of(padded, unpadded)) {
                model.setKernels(PURE);
                List<float[]> pure = stepLogits(model, prompts, 12);
                model.setKernels(TS);
                List<float[]> fused = stepLogits(model, prompts, 12);
                for (int s = 0; s < pure.size(); s++) {
                    double err = 0;
                    for (int i = 0; i < pure.get(s).length; i++) err = Math.max(err, Math.abs(pure.get(s)[i] - fused.get(s)[i]));
                    assertTrue(err <= TOL * scale(pure.get(s)), name + " step " + s + ": logits differ by " + err);
                }
                model.setKernels(PURE);
                List<int[]> greedyPure = Sampler.greedy(model, prompts, 12, -1);
                model.setKernels(TS);
                List<int[]> greedyFused = Sampler.greedy(model, prompts, 12, -1);
                for (int r = 0; r < prompts.size(); r++) assertArrayEquals(greedyPure.get(r), greedyFused.get(r), name + " row " + r);
            }
        }
    }

    /** Logits after the prefill and after each step fed the pure path's greedy token (same inputs both modes). */
    private static List<float[]> stepLogits(LlamaModel model, List<int[]> prompts, int steps) {
        int b = prompts.size(), t = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        long[] ids = new long[b * t], mask = new long[b * t];
        for (int r = 0; r < b; r++) {
            int[] p = prompts.get(r);
            for (int j = 0; j < p.length; j++) {
                ids[r * t + t - p.length + j] = p[j];
                mask[r * t + t - p.length + j] = 1;
            }
        }
        List<float[]> out = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); KvCache cache = model.newCache()) {
            NDArray logits = model.prefill(cache, m.create(ids, new ai.djl.ndarray.types.Shape(b, t)),
                    m.create(mask, new ai.djl.ndarray.types.Shape(b, t)));
            for (int s = 0; s < steps; s++) {
                out.add(logits.toFloatArray());
                // a fixed token sequence, so both modes see the same inputs whatever they predict
                long[] next = new long[b];
                for (int r = 0; r < b; r++) next[r] = 2 + (7 * s + 3 * r) % 40;
                logits = model.step(cache, m.create(next));
            }
            out.add(logits.toFloatArray());
        }
        return out;
    }

    /** LoRA gradients (every module, GQA, padded batch) through the kernels equal the pure path's. */
    @Test
    void loraGradientsEqualThePurePath() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Lora.attach(model, new Lora.Config(4, 8, 0.0, Lora.ALL_MODULES), 7);
            // a fresh adapter's B is zero, so A gets no gradient: give B values first
            for (Param p : model.trainableParameters()) {
                if (p.name().contains("lora_B")) p.array().addi(p.array().getManager().randomNormal(0, 0.05f, p.array().getShape(), DataType.FLOAT32));
            }
            NDArray[] b = batch(m);
            List<float[]> pure = gradients(model, b, PURE);
            List<float[]> fused = gradients(model, b, TS);
            assertEquals(pure.size(), fused.size());
            double worst = 0, largest = 0;
            for (int i = 0; i < pure.size(); i++) {
                for (int j = 0; j < pure.get(i).length; j++) {
                    worst = Math.max(worst, Math.abs(pure.get(i)[j] - fused.get(i)[j]));
                    largest = Math.max(largest, Math.abs(pure.get(i)[j]));
                }
            }
            System.out.printf("LoRA gradients: max abs diff %.3g (largest element %.3g)%n", worst, largest);
            assertTrue(largest > 1e-3, "gradients must be non-trivial, largest " + largest);
            assertTrue(worst <= TOL * Math.max(1, largest), "LoRA gradients differ by " + worst);
        }
    }

    /** Full fine-tuning: gradients reach the base weights (q and gate among them) through the kernels. */
    @Test
    void baseWeightGradientsEqualThePurePath() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("qwen2"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray[] b = batch(m);
            List<float[]> pure = gradients(model, b, PURE);
            List<float[]> fused = gradients(model, b, TS);
            double worst = 0;
            for (int i = 0; i < pure.size(); i++) {
                for (int j = 0; j < pure.get(i).length; j++) worst = Math.max(worst, Math.abs(pure.get(i)[j] - fused.get(i)[j]));
            }
            double scale = scale(pure.toArray(new float[0][]));
            System.out.printf("base gradients: max abs diff %.3g over %d tensors (largest element %.3g)%n", worst, pure.size(), scale);
            assertTrue(worst <= TOL * scale, "base gradients differ by " + worst);
        }
    }

    private static List<float[]> gradients(LlamaModel model, NDArray[] b, TorchScriptKernels.Mode mode) {
        model.setKernels(mode);
        List<Param> params = model.trainableParameters();
        for (Param p : params) {   // zero gradients per mode: backward accumulates
            if (p.array().hasGradient()) JniUtils.zeroGrad((PtNDArray) p.array());
            else p.array().setRequiresGradient(true);
        }
        List<float[]> out = new ArrayList<>();
        try (GradientCollector gc = Engine.getInstance().newGradientCollector();
             NDManager step = b[0].getManager().newSubManager()) {
            // score only predictions made at real positions, as training does (ResponseBatch scores from the last
            // prompt token on): a left-padding position's attention row sees no real key, and there the -1e9 bias
            // swallows the scores in fp32, so both paths' gradients through it are meaningless and differ
            NDArray fromReal = b[1].get(":, :-1").toType(DataType.FLOAT32, false);
            gc.backward(model.sequenceLogProbs(b[0], b[1]).mul(fromReal).sum().neg());
            for (Param p : params) {
                try (NDArray g = p.array().getGradient()) {
                    float[] v = g.toFloatArray();
                    float norm = 0;
                    for (float x : v) norm = Math.max(norm, Math.abs(x));
                    assertTrue(norm > 0, mode + ": no gradient reached " + p.name());
                    out.add(v);
                }
            }
        }
        return out;
    }

    private static NDArray[] batch(NDManager m) {
        var shape = new ai.djl.ndarray.types.Shape(2, 8);
        NDArray ids = m.create(new long[] {0, 0, 0, 1, 5, 9, 17, 3, 1, 8, 44, 1, 2, 3, 4, 5}, shape);
        NDArray mask = m.create(new long[] {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, shape);
        return new NDArray[] {ids, mask};
    }

    /** Each kernel alone: output and input gradients vs the pure ops (GQA repeat, causal + padding bias, no bias). */
    @Test
    void kernelOutputsAndGradientsEqualThePureOps() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            m.getEngine().setRandomSeed(11);
            TorchScriptKernels ts = new TorchScriptKernels(m);
            NDArray gate = m.randomNormal(new ai.djl.ndarray.types.Shape(2, 5, 12));
            NDArray up = m.randomNormal(new ai.djl.ndarray.types.Shape(2, 5, 12));
            compare("silu_mul", () -> ts.siluMul(gate, up),
                    () -> gate.mul(ai.djl.nn.Activation.sigmoid(gate)).mul(up), gate, up);

            NDArray q = m.randomNormal(0, 0.5f, new ai.djl.ndarray.types.Shape(2, 4, 6, 8), DataType.FLOAT32);
            NDArray k = m.randomNormal(new ai.djl.ndarray.types.Shape(2, 2, 6, 8));
            NDArray v = m.randomNormal(new ai.djl.ndarray.types.Shape(2, 2, 6, 8));
            float[] b = new float[2 * 6 * 6];
            for (int r = 0; r < 2; r++) {
                for (int i = 0; i < 6; i++) {
                    for (int j = 0; j < 6; j++) b[r * 36 + i * 6 + j] = j <= i && (r == 1 || j >= 2) ? 0 : LlamaModel.MASKED;
                }
            }
            NDArray bias = m.create(b, new ai.djl.ndarray.types.Shape(2, 1, 6, 6));
            visibleRows = bias.eq(0).toType(DataType.FLOAT32, false).max(new int[] {3}, true);  // rows 0, 1 of batch 0 see none
            compare("sdpa_bias", () -> ts.attention(q, k, v, bias), () -> pureAttention(q, k, v, bias), q, k, v);
            compare("sdpa", () -> ts.attention(q, k, v, null), () -> pureAttention(q, k, v, null), q, k, v);
        }
    }

    private static NDArray pureAttention(NDArray q, NDArray k, NDArray v, NDArray bias) {
        long g = q.getShape().get(1) / k.getShape().get(1);
        NDArray kr = k.repeat(1, g), vr = v.repeat(1, g);   // DJL repeat(axis, n) repeats each element: repeat_interleave
        NDArray s = q.matMul(kr.transpose(0, 1, 3, 2));
        if (bias != null) s = s.add(bias);
        return s.softmax(-1).matMul(vr);
    }

    /**
     * A weighted-sum upstream gradient (every output element's differs), zero on query rows that see no key: there
     * (left padding) both paths' gradients are meaningless, as no training loss reads such a row.
     */
    private static NDArray upstream(NDArray y, NDArray first) {
        NDArray w = y.getManager().arange(0, (int) y.size(), 1, DataType.FLOAT32).reshape(y.getShape()).sin();
        return first.getShape().dimension() == 4 ? w.mul(visibleRows) : w;
    }

    private static NDArray visibleRows;   // (B, 1, T, 1): 1 where the query row sees a key, set by the test

    private static void compare(String what, java.util.function.Supplier<NDArray> fused,
                                java.util.function.Supplier<NDArray> pure, NDArray... inputs) {
        List<float[]> got = new ArrayList<>(), want = new ArrayList<>();
        for (var pair : List.of(java.util.Map.entry(fused, got), java.util.Map.entry(pure, want))) {
            for (NDArray a : inputs) {
                if (a.hasGradient()) JniUtils.zeroGrad((PtNDArray) a);
                else a.setRequiresGradient(true);
            }
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = pair.getKey().get();
                pair.getValue().add(y.toFloatArray());
                // a weighted sum, so every output element's gradient differs
                gc.backward(y.mul(upstream(y, inputs[0])).sum());
            }
            for (NDArray a : inputs) {
                try (NDArray g = a.getGradient()) { pair.getValue().add(g.toFloatArray()); }
            }
        }
        for (int i = 0; i < got.size(); i++) {
            double err = 0;
            for (int j = 0; j < got.get(i).length; j++) err = Math.max(err, Math.abs(got.get(i)[j] - want.get(i)[j]));
            System.out.printf("%s %s max abs diff %.3g%n", what, i == 0 ? "output" : "grad " + (i - 1), err);
            assertTrue(err <= TOL * scale(want.get(i)), what + (i == 0 ? " output" : " gradient " + (i - 1)) + " differs by " + err);
        }
    }

    /** -Dctlab.kernels picks a new model's kernels; a wrong name stops the load with a one-line input error. */
    @Test
    void propertyChoosesTheKernelsAndAWrongNameIsAnInputError() {
        String before = System.getProperty(TorchScriptKernels.PROPERTY);
        try {
            System.setProperty(TorchScriptKernels.PROPERTY, "torchscript");
            try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu())) {
                assertEquals(TS, model.kernels());
            }
            System.setProperty(TorchScriptKernels.PROPERTY, "fast");
            CtlabException e = assertThrows(CtlabException.class, () -> LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu()));
            assertEquals("-Dctlab.kernels: unknown kernels 'fast' (expected pure or torchscript)", e.getMessage());
            System.clearProperty(TorchScriptKernels.PROPERTY);
            try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu())) {
                assertEquals(PURE, model.kernels());
            }
        } finally {
            if (before == null) System.clearProperty(TorchScriptKernels.PROPERTY);
            else System.setProperty(TorchScriptKernels.PROPERTY, before);
        }
    }

    @Test
    void unknownKernelsNameIsAOneLineInputError() {
        assertEquals(TS, TorchScriptKernels.Mode.parse(" TorchScript ", "x"));
        CtlabException e = assertThrows(CtlabException.class, () -> TorchScriptKernels.Mode.parse("fast", "-Dctlab.kernels"));
        assertEquals("-Dctlab.kernels: unknown kernels 'fast' (expected pure or torchscript)", e.getMessage());
    }
}

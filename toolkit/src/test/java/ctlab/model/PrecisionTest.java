package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ctlab.CtlabException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** model_dtype: half-precision base storage, fp32 compute; refusal of dtypes the engine cannot hold. */
class PrecisionTest {
    /**
     * fp16 storage rounds each weight to 11 significant bits (relative error ≤ 2^-11 ≈ 4.9e-4); on the golden
     * models (logits of order 1) measured 0.005-0.0093 max abs logit difference (2026-12-08). Stated tolerance: 2e-2 absolute.
     */
    static final double FP16_TOL = 2e-2;

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "mistral"})
    void float16BaseForwardMatchesFloat32Forward(String kind) {
        Path dir = Goldens.dir().resolve(kind);
        try (LlamaModel f32 = LlamaModel.load(dir, Device.cpu());
             LlamaModel f16 = LlamaModel.load(dir, Device.cpu(), Precision.Dtype.FLOAT16);
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            assertEquals(DataType.FLOAT16, f16.weight("model.embed_tokens.weight").getDataType());
            assertEquals(DataType.FLOAT16, f16.weight("model.layers.0.self_attn.q_proj.weight").getDataType());
            assertEquals(DataType.FLOAT32, f16.weight("model.norm.weight").getDataType());
            Map<String, NDArray> g = Safetensors.read(dir.resolve("golden.safetensors"), m);
            NDArray ids = g.get("input_ids"), mask = g.get("attention_mask");
            NDArray realMask = mask.toType(DataType.FLOAT32, false).expandDims(-1);
            NDArray a = f32.logits(ids, mask), b = f16.logits(ids, mask);
            assertEquals(DataType.FLOAT32, b.getDataType());
            double err = LlamaModelGoldenTest.maxAbsDiff(b.mul(realMask), a.mul(realMask));
            System.out.printf("%s fp16-base vs fp32 logits max abs diff %.3g%n", kind, err);
            assertTrue(err > 0, "fp16 storage should round at least one weight");
            assertTrue(err <= FP16_TOL, kind + ": fp16-base logits differ from fp32 by " + err);
            double lpErr = LlamaModelGoldenTest.maxAbsDiff(f16.sequenceLogProbs(ids, mask), f32.sequenceLogProbs(ids, mask));
            assertTrue(lpErr <= FP16_TOL, kind + ": fp16-base log-probs differ by " + lpErr);
        }
    }

    /** An F16 file loaded with model_dtype float16 keeps its exact half values (no widening, no re-rounding). */
    @Test
    void float16FileLoadsAsFloat16Unwidened(@TempDir Path tmp) throws Exception {
        Path src = Goldens.dir().resolve("llama");
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> half = new LinkedHashMap<>();
            Safetensors.read(src.resolve(Safetensors.SINGLE_FILE), m).forEach((n, a) -> half.put(n, a.toType(DataType.FLOAT16, true)));
            Files.copy(src.resolve("config.json"), tmp.resolve("config.json"));
            Safetensors.write(tmp.resolve(Safetensors.SINGLE_FILE), half, Map.of("format", "pt"));
            Map<String, NDArray> raw = Safetensors.read(tmp.resolve(Safetensors.SINGLE_FILE), m, null, true);
            assertEquals(DataType.FLOAT16, raw.get("model.embed_tokens.weight").getDataType());
            try (LlamaModel f16 = LlamaModel.load(tmp, Device.cpu(), Precision.Dtype.FLOAT16)) {
                String name = "model.layers.0.mlp.down_proj.weight";
                NDArray w = f16.weight(name);
                assertEquals(DataType.FLOAT16, w.getDataType());
                assertTrue(w.contentEquals(half.get(name)), "fp16 weights must equal the file's bits");
            }
        }
    }

    /**
     * Matrices are cast to float16 as they are read (LlamaModel.load's per-tensor hook); a value beyond the
     * float16 range is still a one-line error naming the folder and the tensor.
     */
    @Test
    void float16OverflowNamesTheTensor(@TempDir Path tmp) throws Exception {
        Path src = Goldens.dir().resolve("llama");
        String name = "model.layers.0.mlp.up_proj.weight";
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> w = new LinkedHashMap<>(Safetensors.read(src.resolve(Safetensors.SINGLE_FILE), m));
            w.put(name, w.get(name).add(1e6f));
            Files.copy(src.resolve("config.json"), tmp.resolve("config.json"));
            Safetensors.write(tmp.resolve(Safetensors.SINGLE_FILE), w, Map.of("format", "pt"));
        }
        CtlabException e = assertThrows(CtlabException.class, () -> LlamaModel.load(tmp, Device.cpu(), Precision.Dtype.FLOAT16));
        assertTrue(e.getMessage().startsWith(tmp.toString()) && e.getMessage().contains("'" + name + "'")
                && e.getMessage().contains("outside the float16 range") && !e.getMessage().contains("\n"), e.getMessage());
        try (LlamaModel f32 = LlamaModel.load(tmp, Device.cpu())) {
            assertEquals(DataType.FLOAT32, f32.weight(name).getDataType());
        }
    }

    /** bf16 would abort the JVM in DJL 0.36 (see PrecisionProbeTest): refused up front in one line. */
    @Test
    void bfloat16IsRefusedBeforeAnythingIsRead(@TempDir Path tmp) {
        CtlabException e = assertThrows(CtlabException.class,
                () -> LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu(), Precision.Dtype.BFLOAT16));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains("bfloat16") && e.getMessage().contains("float32")
                && e.getMessage().contains("op create"), e.getMessage());
    }

    @Test
    void dtypeNamesParseAndBadOnesNameTheField() {
        assertEquals(Precision.Dtype.BFLOAT16, Precision.Dtype.parse("bf16", "model_dtype"));
        assertEquals(Precision.Dtype.FLOAT32, Precision.Dtype.parse(null, "model_dtype"));
        CtlabException e = assertThrows(CtlabException.class, () -> Precision.Dtype.parse("int8", "model_dtype"));
        assertTrue(e.getMessage().startsWith("model_dtype: unknown dtype 'int8'"), e.getMessage());
    }

    /** Full fine-tuning would update half-precision weights in place: refused; LoRA on an fp16 base is fine. */
    @Test
    void fullFineTuningNeedsFloat32Base() {
        try (LlamaModel f16 = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu(), Precision.Dtype.FLOAT16)) {
            CtlabException e = assertThrows(CtlabException.class, f16::trainableParameters);
            assertTrue(e.getMessage().contains("float32"), e.getMessage());
        }
    }
}

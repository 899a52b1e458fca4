package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ctlab.CtlabException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static ctlab.model.LlamaModelGoldenTest.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraTest {
    @TempDir Path tmp;

    private static Map<String, NDArray> golden(NDManager m) {
        return Safetensors.read(Goldens.dir().resolve("llama/golden.safetensors"), m);
    }

    private static double realDiff(NDArray logits, NDArray expected, NDArray mask) {
        NDArray real = mask.toType(DataType.FLOAT32, false).expandDims(-1);
        return maxAbsDiff(logits.mul(real), expected.mul(real));
    }

    @Test
    void peftAdapterGivesPeftLogits_andDisableGivesBase_andMergeKeepsLogits() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> g = golden(m);
            NDArray ids = g.get("input_ids"), mask = g.get("attention_mask");
            Lora lora = Lora.load(model, Goldens.dir().resolve("llama-lora"));
            assertEquals(4, lora.config().rank());
            assertEquals(7, lora.config().targetModules().size());
            double err = realDiff(model.logits(ids, mask), g.get("lora_logits"), mask);
            System.out.printf("PEFT adapter logits max abs err %.3g%n", err);
            assertTrue(err <= 1e-4, "adapter logits error " + err);

            lora.setEnabled(false);
            double base = realDiff(model.logits(ids, mask), g.get("logits"), mask);
            assertTrue(base <= 1e-4, "disabled adapter must give the base model, error " + base);
            lora.setEnabled(true);

            NDArray before = model.weight("model.layers.0.self_attn.q_proj.weight").duplicate();
            lora.merge();
            double merged = realDiff(model.logits(ids, mask), g.get("lora_logits"), mask);
            assertTrue(merged <= 1e-4, "merged logits error " + merged);
            assertTrue(maxAbsDiff(model.weight("model.layers.0.self_attn.q_proj.weight"), before) > 1e-3,
                    "merge must change the base weight");
            lora.unmerge();
            assertTrue(maxAbsDiff(model.weight("model.layers.0.self_attn.q_proj.weight"), before) < 1e-6);
            double unmerged = realDiff(model.logits(ids, mask), g.get("lora_logits"), mask);
            assertTrue(unmerged <= 1e-4, "unmerged logits error " + unmerged);
        }
    }

    @Test
    void freshAdapterIsIdentity_trainableParamsAreAdapterOnly_andSaveLoadRoundTrips() throws Exception {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> g = golden(m);
            NDArray ids = g.get("input_ids"), mask = g.get("attention_mask");
            assertEquals(model.weights().size(), model.trainableParameters().size(), "full fine-tuning: all weights");
            assertTrue(model.trainableParameters().stream()
                    .filter(p -> p.name().endsWith("norm.weight")).noneMatch(Param::weightDecay));

            Lora lora = Lora.attach(model, new Lora.Config(8, 16, 0.0, List.of("gate_proj", "up_proj", "down_proj")), 42);
            List<Param> params = model.trainableParameters();
            assertEquals(2 * 2 * 3, params.size());  // 2 layers x 3 modules x (A, B)
            assertTrue(params.stream().allMatch(p -> p.name().startsWith("base_model.model.model.layers.")));
            assertEquals("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight", params.get(0).name());
            double err = realDiff(model.logits(ids, mask), g.get("logits"), mask);
            assertTrue(err <= 1e-4, "B = 0 adapter must not change the model, error " + err);

            // give B values, save, reload into a fresh model: same logits
            for (Param p : params) if (p.name().contains("lora_B")) p.array().addi(0.05f);
            NDArray withAdapter = model.logits(ids, mask);
            lora.save(tmp.resolve("adapter"), Map.of("ctlab.test", "roundtrip"));
            assertTrue(Files.isRegularFile(tmp.resolve("adapter/adapter_config.json")));
            assertEquals("pt", Safetensors.readHeader(tmp.resolve("adapter/adapter_model.safetensors")).metadata().get("format"));
            try (LlamaModel other = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu())) {
                Lora.load(other, tmp.resolve("adapter"));
                assertTrue(maxAbsDiff(other.logits(ids, mask), withAdapter) < 1e-6);
            }
            lora.remove();
            assertTrue(realDiff(model.logits(ids, mask), g.get("logits"), mask) <= 1e-4);
            assertEquals(model.weights().size(), model.trainableParameters().size());
        }
    }

    @Test
    void twoAdapterSetsOnOneBaseSwitch() {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> g = golden(m);
            NDArray ids = g.get("input_ids"), mask = g.get("attention_mask");
            Lora peft = Lora.load(model, Goldens.dir().resolve("llama-lora"));
            Lora other = Lora.attach(model, new Lora.Config(2, 4, 0, List.of("up_proj")), 3);
            other.parameters().forEach(p -> p.array().addi(0.2f));
            assertTrue(other.isActive() && !peft.isActive());
            NDArray otherLogits = model.logits(ids, mask);
            assertTrue(realDiff(otherLogits, g.get("lora_logits"), mask) > 1e-2);
            peft.activate();
            assertTrue(realDiff(model.logits(ids, mask), g.get("lora_logits"), mask) <= 1e-4);
            peft.merge();
            other.activate();  // unmerges peft on the way
            assertFalse(peft.isMerged());
            assertEquals(0.0, maxAbsDiff(model.logits(ids, mask), otherLogits), 1e-5);
            other.close();
            assertTrue(model.lora() == null);
            assertTrue(realDiff(model.logits(ids, mask), g.get("logits"), mask) <= 1e-4, "no adapter: base model");
            peft.activate();
            assertTrue(realDiff(model.logits(ids, mask), g.get("lora_logits"), mask) <= 1e-4);
        }
    }

    @Test
    void sameSeedSameInit_dropoutOnlyInTraining() {
        try (LlamaModel a = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             LlamaModel b = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Lora la = Lora.attach(a, new Lora.Config(4, 8, 0.5, Lora.ALL_MODULES), 7);
            Lora lb = Lora.attach(b, new Lora.Config(4, 8, 0.5, Lora.ALL_MODULES), 7);
            for (int i = 0; i < la.parameters().size(); i++) {
                assertEquals(0.0, maxAbsDiff(la.parameters().get(i).array(), lb.parameters().get(i).array()));
            }
            la.parameters().stream().filter(p -> p.name().contains("lora_B")).forEach(p -> p.array().addi(0.1f));
            Map<String, NDArray> g = golden(m);
            NDArray ids = g.get("input_ids"), mask = g.get("attention_mask");
            NDArray eval1 = a.logits(ids, mask), eval2 = a.logits(ids, mask);
            assertEquals(0.0, maxAbsDiff(eval1, eval2), "no dropout outside training");
            a.setTraining(true);
            NDArray train = a.logits(ids, mask);
            a.setTraining(false);
            assertTrue(maxAbsDiff(train, eval1) > 1e-4, "dropout 0.5 must change training-mode logits");
        }
    }

    /** The PEFT-check export (tools/goldens/export_ctlab_adapter.sh) writes an adapter that reloads to its logits. */
    @Test
    void peftCheckExportReloadsToTheLogitsItRecorded() {
        Path dir = tmp.resolve("export");
        ExportAdapterForPeftCheck.export(dir);
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> rec = Safetensors.read(dir.resolve("ctlab_logits.safetensors"), m);
            NDArray ids = rec.get("input_ids"), mask = rec.get("attention_mask");
            double base = realDiff(model.logits(ids, mask), rec.get("logits"), mask);
            Lora.load(model, dir);
            assertTrue(realDiff(model.logits(ids, mask), rec.get("logits"), mask) < 1e-6);
            assertTrue(base > 1e-3, "the exported adapter must change the logits (non-zero B), base diff " + base);
        }
    }

    @Test
    void badAdapterFilesAreClearErrors() throws Exception {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu())) {
            Lora lora = Lora.attach(model, new Lora.Config(4, 8, 0, List.of("q_proj")), 1);
            Path dir = tmp.resolve("bad");
            lora.save(dir, Map.of());
            String cfg = Files.readString(dir.resolve("adapter_config.json"));
            Files.writeString(dir.resolve("adapter_config.json"), cfg.replace("\"q_proj\"", "\"k_proj\""));
            CtlabException e = assertThrows(CtlabException.class, () -> Lora.load(model, dir));
            assertTrue(e.getMessage().contains("adapter_model.safetensors") && e.getMessage().contains("k_proj.lora_A"),
                    e.getMessage());
            Files.writeString(dir.resolve("adapter_config.json"), cfg.replace("\"r\" : 4", "\"r\" : 2"));
            e = assertThrows(CtlabException.class, () -> Lora.load(model, dir));
            assertTrue(e.getMessage().contains("shape"), e.getMessage());
            assertFalse(model.lora() == null, "a failed load keeps the previous adapters");
        }
    }
}

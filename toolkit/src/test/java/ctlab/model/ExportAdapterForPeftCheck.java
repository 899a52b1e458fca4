package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a ctlab-trained-style LoRA adapter on the golden Llama (non-zero B, r=16 on all seven modules, rsLoRA off)
 * plus the logits ctlab computes with it ({@code ctlab_logits.safetensors}), for
 * {@code tools/goldens/check_ctlab_adapter.py}. Run it with {@code tools/goldens/export_ctlab_adapter.sh DIR}.
 */
public final class ExportAdapterForPeftCheck {
    private ExportAdapterForPeftCheck() {}

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: ExportAdapterForPeftCheck OUT_DIR");
            System.exit(2);
        }
        export(Path.of(args[0]));
        System.out.println("wrote adapter and ctlab_logits.safetensors to " + args[0]);
    }

    /** The adapter (adapter_config.json, adapter_model.safetensors) and ctlab's logits on the golden batch. */
    static void export(Path dir) {
        try (LlamaModel model = LlamaModel.load(Goldens.dir().resolve("llama"), Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Lora lora = Lora.attach(model, new Lora.Config(16, 32, 0.05, Lora.ALL_MODULES), 5);
            SplittableRandom rng = new SplittableRandom(9);
            for (Param p : lora.parameters()) {
                if (!p.name().contains("lora_B")) continue;
                float[] v = new float[(int) p.array().size()];
                for (int i = 0; i < v.length; i++) v[i] = (float) (0.05 * rng.nextGaussian());
                p.array().set(v);
            }
            Map<String, NDArray> g = Safetensors.read(Goldens.dir().resolve("llama/golden.safetensors"), m);
            NDArray ids = g.get("input_ids"), mask = g.get("attention_mask");
            NDArray logits = model.logits(ids, mask);
            lora.save(dir, Map.of("ctlab.test", "export"));
            Safetensors.write(dir.resolve("ctlab_logits.safetensors"),
                    Map.of("input_ids", ids, "attention_mask", mask, "logits", logits), Map.of());
        }
    }
}

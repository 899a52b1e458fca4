package ctlab.sample;

import ai.djl.Device;
import ctlab.model.LlamaModel;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** The engine's committed tiny golden checkpoints (random weights, 300-token vocab), for fast tests. */
public final class TinyModels {
    private TinyModels() {}

    public static Path dir(String kind) {
        try {
            return Path.of(TinyModels.class.getResource("/goldens/goldens.json").toURI()).getParent().resolve(kind);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** "llama" (has BOS, untied head) or "qwen2" (no BOS, tied embeddings). */
    public static LlamaModel load(String kind) { return LlamaModel.load(dir(kind), Device.cpu()); }
}

package ctlab.model;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Locates the committed fixtures written by tools/goldens/make_model_goldens.py. */
final class Goldens {
    private Goldens() {}

    /**
     * The device the golden comparisons run on: ctlab.device / CTLAB_DEVICE ({@link Devices#fromEnvironment}), cpu
     * by default; tools/gpu/check.sh runs them with gpu.
     */
    static ai.djl.Device device() { return Devices.fromEnvironment(); }

    static Path dir() {
        try {
            return Path.of(Goldens.class.getResource("/goldens/goldens.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode summary() {
        try {
            return Jsonl.MAPPER.readTree(Files.readAllBytes(dir().resolve("goldens.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<int[]> intLists(JsonNode arr) {
        List<int[]> out = new ArrayList<>();
        for (JsonNode row : arr) {
            int[] r = new int[row.size()];
            for (int i = 0; i < r.length; i++) r[i] = row.get(i).asInt();
            out.add(r);
        }
        return out;
    }
}

package ctlab.train;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Loads the committed fixture written by tools/goldens/make_adamw_golden.py. */
final class Goldens {
    private Goldens() {}

    static JsonNode adamw() {
        try (InputStream in = Goldens.class.getResourceAsStream("/goldens/adamw_golden.json")) {
            if (in == null) throw new IllegalStateException("missing test resource goldens/adamw_golden.json");
            return Jsonl.MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) array.get(i).asDouble();
        return out;
    }

    static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asLong();
        return out;
    }
}

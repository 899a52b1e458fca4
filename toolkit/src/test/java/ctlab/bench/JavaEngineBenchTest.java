package ctlab.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ctlab side on a tiny model: every phase measured, with the token counts of its definition. */
class JavaEngineBenchTest {
    @Test
    void measuresEveryPhaseWithTheSchemaTheReferencePrints() {
        BenchConfig c = new BenchConfig(1, 16, 2, 1, 32, 40, 2, 8, 3, 4, List.of(1, 3), 1, 2, 2, 7);
        ObjectNode r = new JavaEngineBench(c, "decode_b1").run();
        assertEquals("ctlab", r.path("side").asText());
        assertTrue(r.path("settings").path("intra_op_threads").asInt() >= 1);
        JsonNode phases = r.path("phases");
        assertEquals(List.of("forward", "decode_b1", "decode_b3", "train"), fieldNames(phases));
        assertEquals(16, phases.path("forward").path("tokens_per_iter").asLong());   // 2 x 8
        assertEquals(4, phases.path("decode_b1").path("tokens_per_iter").asLong());  // 1 x 4 new
        assertEquals(12, phases.path("decode_b3").path("tokens_per_iter").asLong()); // 3 x 4 new
        assertEquals(16, phases.path("train").path("tokens_per_iter").asLong());
        for (JsonNode p : phases) {
            double tps = p.path("tokens_per_s").asDouble();
            assertTrue(tps > 0 && Double.isFinite(tps), p.toString());
            assertTrue(p.path("tokens_per_s").asDouble() >= p.path("tokens_per_s_median").asDouble(), "fastest >= median");
            assertEquals(2, p.path("iters").asInt());
            if (System.getProperty("os.name").startsWith("Linux")) assertTrue(p.path("peak_rss_mb").asDouble() > 10, p.toString());
        }
        JsonNode prof = r.path("profile").path("decode_b1");
        assertFalse(prof.path("ops").isEmpty(), "profiled ops: " + prof);
        assertTrue(prof.path("wall_ms_per_iter").asDouble() > 0);
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> out = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }
}

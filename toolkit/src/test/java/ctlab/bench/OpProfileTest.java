package ctlab.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class OpProfileTest {
    @Test
    void selfTimeSubtractsDirectChildrenPerThread(@TempDir Path dir) throws Exception {
        // thread 1: A [0,100) holds B [10,40) and C [50,70), C holds D [55,60); thread 2: E [0,30)
        String trace = """
                {"traceEvents": [
                  {"name": "aten::A", "ph": "X", "ts": 0, "dur": 100, "pid": 1, "tid": 1},
                  {"name": "aten::B", "ph": "X", "ts": 10, "dur": 30, "pid": 1, "tid": 1},
                  {"name": "aten::C", "ph": "X", "ts": 50, "dur": 20, "pid": 1, "tid": 1},
                  {"name": "aten::D", "ph": "X", "ts": 55, "dur": 5, "pid": 1, "tid": 1},
                  {"name": "aten::B", "ph": "X", "ts": 200, "dur": 10, "pid": 1, "tid": 1},
                  {"name": "aten::E", "ph": "X", "ts": 0, "dur": 30, "pid": 1, "tid": 2},
                  {"name": "flow", "ph": "s", "ts": 0, "pid": 1, "tid": 1}
                ]}""";
        Path f = dir.resolve("trace.json");
        Files.writeString(f, trace);
        ObjectNode json = OpProfile.fromChromeTrace(f).toJson(1.0, 2);   // 1 ms wall over 2 iterations
        Map<String, double[]> ops = new HashMap<>();
        for (JsonNode op : json.path("ops")) {
            ops.put(op.path("op").asText(), new double[] {op.path("calls_per_iter").asDouble(),
                    op.path("self_ms_per_iter").asDouble() * 1000 * 2, op.path("total_ms_per_iter").asDouble() * 1000 * 2});
        }
        assertEquals(5, ops.size());
        assertEquals(50, ops.get("aten::A")[1], 1e-9);
        assertEquals(40, ops.get("aten::B")[1], 1e-9);       // 30 + 10, two calls
        assertEquals(1.0, ops.get("aten::B")[0], 1e-9);      // 2 calls / 2 iterations
        assertEquals(15, ops.get("aten::C")[1], 1e-9);
        assertEquals(20, ops.get("aten::C")[2], 1e-9);
        assertEquals(5, ops.get("aten::D")[1], 1e-9);
        assertEquals(30, ops.get("aten::E")[1], 1e-9);
        assertEquals("aten::A", json.path("ops").get(0).path("op").asText(), "sorted by self time");
        // top level: A 100 + B 10 + E 30 = 140 us over 2 iterations = 0.07 ms; wall 0.5 ms per iteration
        assertEquals(0.07, json.path("in_ops_ms_per_iter").asDouble(), 1e-12);
        assertEquals(0.43, json.path("outside_ops_ms_per_iter").asDouble(), 1e-12);
        assertEquals(1.5, json.path("top_level_ops_per_iter").asDouble(), 1e-12);   // A, B, E over 2 iterations
    }
}

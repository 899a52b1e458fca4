package ctlab.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bench's sample phase: the workload both sides read, and the ctlab side's measurement. */
class SampleBenchTest {
    @Test
    void specRoundTripsAndTheCtlabSideCountsGeneratedTokens() throws Exception {
        Path dir = EngineBench.findInCheckout("models/organism-base");
        Assumptions.assumeTrue(dir != null, "models/organism-base not found");
        SampleBench.Spec full = SampleBench.organism(dir, 16, 1, 2, 1234);
        assertEquals(16, full.promptIds().size());
        assertEquals(8, full.n());
        assertEquals(160, full.maxNewTokens());
        assertEquals(1, full.promptIds().get(0)[0], "prompt ids start with <bos>, as ctlab feeds them");
        SampleBench.Spec back = Jsonl.MAPPER.readValue(Jsonl.MAPPER.writeValueAsString(full), SampleBench.Spec.class);
        assertEquals(full.stop(), back.stop());
        assertEquals(full.promptIds().get(3).length, back.promptIds().get(3).length);

        SampleBench.Spec small = new SampleBench.Spec(full.modelDir(), full.promptIds().subList(0, 2), 2, 1.0, 0.95,
                full.stop(), 8, 7, 1, 1);
        ObjectNode r = SampleBench.run(small);
        long tokens = r.path("tokens_per_iter").asLong();
        assertTrue(tokens >= 4 && tokens <= 2 * 2 * 8, "2 prompts x 2 samples x <= 8 tokens: " + tokens);
        assertEquals(4, r.path("rows").asInt());
        assertTrue(r.path("tokens_per_s").asDouble() > 0);
    }

    @Test
    void unknownPhaseOrMissingModelIsAUserError() {
        var e = assertThrows(CtlabException.class, () -> new EngineBench.Options(BenchConfig.defaults(),
                ThreadSetting.parseList("1"), null, null, "sdpa", "", List.of(), java.time.Duration.ofMinutes(1), 1,
                List.of("forwrd"), null));
        assertTrue(e.getMessage().contains("'forwrd'"), e.getMessage());
        var m = assertThrows(CtlabException.class, () -> SampleBench.organism(Path.of("/nonexistent"), 16, 1, 1, 1));
        assertTrue(m.getMessage().contains("/nonexistent"), m.getMessage());
    }
}

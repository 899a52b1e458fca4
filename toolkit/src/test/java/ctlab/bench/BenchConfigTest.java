package ctlab.bench;

import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.model.LlamaConfig;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchConfigTest {
    @Test
    void defaultsAreTheIssuesOrientationConfigAndParseAsALlamaConfig() {
        BenchConfig c = BenchConfig.defaults();
        LlamaConfig lc = c.llamaConfig();
        assertEquals(2, lc.numHiddenLayers());
        assertEquals(128, lc.hiddenSize());
        assertEquals(32, lc.headDim());
        assertEquals(512, lc.vocabSize());
        assertFalse(lc.tieWordEmbeddings());
        assertTrue(lc.eosTokenIds().isEmpty(), "no EOS, so generation never stops early on either side");
        assertEquals(32, c.batch());
        assertEquals(128, c.seq());
        assertEquals(List.of(1, 32), c.decodeBatches());
    }

    @Test
    void jsonRoundTripKeepsEveryField() throws Exception {
        BenchConfig c = new BenchConfig(1, 64, 4, 2, 96, 100, 3, 7, 5, 6, List.of(1, 4), 2, 3, 4, 99);
        String json = Jsonl.MAPPER.writeValueAsString(c);
        assertTrue(json.contains("\"kv_heads\":2"), json);
        assertEquals(c, Jsonl.MAPPER.readValue(json, BenchConfig.class));
    }

    @Test
    void badValuesNameTheOption() {
        CtlabException e = assertThrows(CtlabException.class,
                () -> new BenchConfig(2, 128, 4, 4, 512, 512, 0, 128, 16, 64, List.of(1), 3, 10, 5, 1));
        assertTrue(e.getMessage().contains("--batch"), e.getMessage());
        e = assertThrows(CtlabException.class,
                () -> new BenchConfig(2, 128, 4, 3, 512, 512, 32, 128, 16, 64, List.of(1), 3, 10, 5, 1));
        assertTrue(e.getMessage().contains("kv-heads"), e.getMessage());
        e = assertThrows(CtlabException.class,
                () -> new BenchConfig(2, 100, 3, 3, 512, 512, 32, 128, 16, 64, List.of(1), 3, 10, 5, 1));
        assertTrue(e.getMessage().contains("not divisible"), e.getMessage());
        e = assertThrows(CtlabException.class,
                () -> new BenchConfig(2, 128, 4, 4, 512, 512, 32, 128, 16, 64, List.of(), 3, 10, 5, 1));
        assertTrue(e.getMessage().contains("decode-batches"), e.getMessage());
    }

    @Test
    void threadSettingsParseAndSetTheChildEnvironment() {
        List<ThreadSetting> s = ThreadSetting.parseList("2:PASSIVE, 2,1:active,4:default");
        assertEquals(List.of(new ThreadSetting(2, "PASSIVE"), new ThreadSetting(2, null), new ThreadSetting(1, "ACTIVE"),
                new ThreadSetting(4, null)), s);
        assertEquals("2 thr, PASSIVE", s.get(0).label());
        assertEquals("2 thr, wait unset", s.get(1).label());

        Map<String, String> env = new HashMap<>(Map.of("OMP_WAIT_POLICY", "ACTIVE", "OMP_NUM_THREADS", "8"));
        s.get(1).applyTo(env);
        assertEquals(Map.of("OMP_NUM_THREADS", "2", "MKL_NUM_THREADS", "2"), env);
        s.get(0).applyTo(env);
        assertEquals("PASSIVE", env.get("OMP_WAIT_POLICY"));

        assertTrue(assertThrows(CtlabException.class, () -> ThreadSetting.parseList("two")).getMessage().contains("'two'"));
        assertTrue(assertThrows(CtlabException.class, () -> ThreadSetting.parseList("2:SPIN")).getMessage().contains("SPIN"));
        assertThrows(CtlabException.class, () -> ThreadSetting.parseList("0"));
        assertThrows(CtlabException.class, () -> ThreadSetting.parseList(" , "));
    }
}

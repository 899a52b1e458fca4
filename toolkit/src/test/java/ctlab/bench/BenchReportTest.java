package ctlab.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchReportTest {
    private static ObjectNode run(String side, String setting, double forward, double train, double decode) {
        ObjectNode r = Jsonl.MAPPER.createObjectNode();
        r.put("side", side);
        r.put("setting", setting);
        r.put("variant", side.equals("torch") ? "HF LlamaForCausalLM attn=sdpa" : "LlamaModel");
        ObjectNode p = r.putObject("phases");
        p.putObject("forward").put("tokens_per_s", forward).put("peak_rss_mb", 100);
        p.putObject("decode_b1").put("tokens_per_s", decode).put("peak_rss_mb", 110);
        p.putObject("train").put("tokens_per_s", train).put("peak_rss_mb", 120);
        return r;
    }

    @Test
    void comparesEachSideAtItsBestSettingPerPhase() {
        BenchReport rep = new BenchReport(BenchConfig.defaults(), null);
        rep.add(1, List.of(run("ctlab", "2 thr, PASSIVE", 100, 30, 10)));
        rep.add(1, List.of(run("torch", "2 thr, PASSIVE", 50, 20, 8)));
        rep.add(1, List.of(run("ctlab", "1 thr, wait unset", 80, 25, 30)));
        rep.add(2, List.of(run("torch", "1 thr, wait unset", 40, 25, 10)));

        assertEquals(List.of("forward", "decode_b1", "train"), rep.phases());
        assertEquals("2 thr, PASSIVE", rep.best("ctlab", "forward").path("setting").asText());
        assertEquals("1 thr, wait unset", rep.best("ctlab", "decode_b1").path("setting").asText());
        assertEquals("1 thr, wait unset", rep.best("torch", "train").path("setting").asText());
        assertEquals(2.0, rep.ratio("forward"), 1e-12);
        assertEquals(3.0, rep.ratio("decode_b1"), 1e-12);
        assertEquals(30.0 / 25.0, rep.ratio("train"), 1e-12);
        assertEquals(2, rep.runs().get(3).path("round").asInt());

        String text = rep.render();
        assertTrue(text.contains(">= 2.0x met"), text);
        assertTrue(text.contains(">= 1.0x met"), text);
        assertEquals(3.0, rep.toJson().path("comparison").path("decode_b1").path("ratio").asDouble(), 1e-12);
    }

    @Test
    void aMissedTargetSaysByHowMuch() {
        BenchReport rep = new BenchReport(BenchConfig.defaults(), null);
        rep.add(1, List.of(run("ctlab", "2 thr, PASSIVE", 100, 15, 10)));
        rep.add(1, List.of(run("torch", "2 thr, PASSIVE", 50, 20, 8)));
        String text = rep.render();
        assertTrue(text.contains(">= 1.0x MISSED by 25%"), text);     // 0.75x
        assertTrue(text.contains(">= 2.0x MISSED by 38%"), text);     // 1.25x of 2.0x
    }

    @Test
    void withoutTheReferenceTheJavaNumbersStillPrint() {
        BenchReport rep = new BenchReport(BenchConfig.defaults(), "cannot run /nope/python");
        rep.add(1, List.of(run("ctlab", "2 thr, PASSIVE", 100, 15, 10)));
        assertNull(rep.best("torch", "train"));
        assertTrue(Double.isNaN(rep.ratio("train")));
        String text = rep.render();
        assertTrue(text.contains("PyTorch reference skipped: cannot run /nope/python"), text);
        assertTrue(text.contains("(no reference)"), text);
        assertEquals("cannot run /nope/python", rep.toJson().path("torch_skipped").asText());
    }
}

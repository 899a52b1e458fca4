package ctlab.run.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ctlab.critical.RolloutProbe;
import ctlab.data.EvalOutcome;
import ctlab.io.Jsonl;
import ctlab.stats.Accuracy;
import ctlab.stats.SeedMean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 13: the demo's table says that critical tokens exist (pass@k kept vs replaced) and splits accuracy by trap. */
class DemoResultsTableTest {
    @TempDir Path tmp;

    static RolloutProbe.Result result(String id, int critical, int withCorrect, int withoutCorrect) {
        var row = new RolloutProbe.TokenRow(3, 7, "x", 0.9, withCorrect, 8, withoutCorrect, 8);
        return new RolloutProbe.Result(id, 10, 8, 0, critical, -1, 100, 1.0, 1, List.of(row));
    }

    @Test void passAtKKeptVersusReplacedOverTrajectoriesWithACriticalToken() {
        Path file = tmp.resolve("rollout.jsonl");
        Jsonl.writeAll(file, List.of(result("a", 3, 0, 4), result("b", 3, 1, 2), result("c", 3, 0, 8),
                result("none", -1, 5, 5)));                                       // no critical token: left out
        // pass@8 from n = 8 samples is 1 when any is correct
        SeedMean kept = SeedMean.of(0, 1, 0), replaced = SeedMean.of(1, 1, 1);
        String line = Demo.criticalTokensExist(file);
        assertTrue(line.startsWith(String.format(Locale.ROOT, "critical tokens exist: pass@8 from the prefix that keeps the "
                + "critical token %.1f%% [0.0, %.1f], with another token forced there 100.0%% [100.0, 100.0] (mean over 3 "
                + "trajectories", 100 * kept.mean(), 100 * Math.min(1, kept.upper()))), line);
        assertEquals(1.0, replaced.mean());
        assertEquals("", Demo.criticalTokensExist(tmp.resolve("absent.jsonl")));
    }

    @Test void accuracyOnTrapAndNoTrapProblemsPerMethod() throws Exception {
        List<EvalOutcome> base = new ArrayList<>(), dpo = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            String trap = i < 4 ? "lend" : null;
            base.add(new EvalOutcome("p" + i, "base", i >= 4 && i < 9, "1", "1", "r", 1, "eos", 0, 0, trap));
            dpo.add(new EvalOutcome("p" + i, "dpo", i >= 2, "1", "1", "r", 1, "eos", 0, 0, trap));
        }
        Jsonl.writeAll(tmp.resolve("eval-base.jsonl"), base);
        Jsonl.writeAll(tmp.resolve("eval-dpo.jsonl"), dpo);
        var summary = Jsonl.MAPPER.readTree("{\"methods\": [{\"method\": \"base\"}, {\"method\": \"dpo\"}]}");
        String table = Demo.trapSplit(tmp, summary);
        assertTrue(table.contains("trap problems (4)") && table.contains("no-trap problems (6)"), table);
        Accuracy baseTrap = Accuracy.of(0, 4), baseClean = Accuracy.of(5, 6), dpoTrap = Accuracy.of(2, 4);
        assertTrue(table.contains(String.format(Locale.ROOT, "0.0%% [0.0, %.1f]", 100 * baseTrap.upper())), table);
        assertTrue(table.contains(String.format(Locale.ROOT, "83.3%% [%.1f, %.1f]", 100 * baseClean.lower(),
                100 * baseClean.upper())), table);
        assertTrue(table.contains(String.format(Locale.ROOT, "50.0%% [%.1f, %.1f]", 100 * dpoTrap.lower(),
                100 * dpoTrap.upper())), table);
        // no trap anywhere (organism v1, GSM8K): no split
        Jsonl.writeAll(tmp.resolve("eval-base.jsonl"), List.of(new EvalOutcome("q", "base", true, "1", "1", "r", 1, "eos", 0, 0)));
        assertEquals("", Demo.trapSplit(tmp, Jsonl.MAPPER.readTree("{\"methods\": [{\"method\": \"base\"}]}")));
    }
}

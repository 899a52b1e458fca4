package ctlab.run;

import ctlab.CtlabException;
import ctlab.stats.PairedComparison;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class AblationTest {
    @TempDir Path tmp;

    void eval(String method, boolean... correct) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < correct.length; i++)
            sb.append("{\"problem_id\":\"q").append(i).append("\",\"method\":\"").append(method)
              .append("\",\"correct\":").append(correct[i]).append("}\n");
        Files.writeString(tmp.resolve("eval-" + method + ".jsonl"), sb.toString());
    }

    @Test void accuracyIntervalsAndMcNemarAgainstBaseAndDpo() throws Exception {
        eval("base", true, false, false, false, true, false);
        eval("dpo", true, true, false, false, true, false);
        eval("cdpo", true, true, true, true, true, false);
        List<Ablation.Row> rows = Ablation.table(tmp, List.of("base", "dpo", "cdpo"));
        assertEquals(3, rows.size());
        assertEquals(2, rows.get(0).accuracy().correct());
        assertEquals(5, rows.get(2).accuracy().correct());
        assertNull(rows.get(0).pVsBase());
        assertNull(rows.get(1).pVsDpo());
        assertEquals(PairedComparison.mcnemarExactP(3, 0), rows.get(2).pVsBase(), 1e-12);   // cdpo right where base wrong: 3
        assertEquals(PairedComparison.mcnemarExactP(2, 0), rows.get(2).pVsDpo(), 1e-12);
        String md = Ablation.markdown(rows);
        assertTrue(md.contains("| cdpo | 83.3% |"), md);
    }

    @Test void badRecordNamesFileAndLine() throws Exception {
        Files.writeString(tmp.resolve("eval-base.jsonl"), "{\"problem_id\":\"q0\",\"correct\":\"yes\"}\n");
        CtlabException e = assertThrows(CtlabException.class, () -> Ablation.table(tmp, List.of("base")));
        assertTrue(e.getMessage().contains("eval-base.jsonl:1"), e.getMessage());
    }
}

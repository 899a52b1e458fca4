package ctlab.model;

import ctlab.run.ChildJvm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs every {@link Precision.Op} on bf16 and fp16 CPU arrays, each in its own child JVM (an abort kills the
 * JVM it happens in), and checks the outcome against {@link Precision#worksOnCpu}, the record that
 * {@link Precision#check} refuses dtypes by.
 */
@Tag("slow")
class PrecisionProbeTest {
    @Test
    void probedOpsMatchTheRecord(@TempDir Path tmp) throws Exception {
        List<String> wrong = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        for (Precision.Dtype dt : new Precision.Dtype[] {Precision.Dtype.BFLOAT16, Precision.Dtype.FLOAT16}) {
            for (Precision.Op op : Precision.Op.values()) {
                Process p = ChildJvm.java(tmp, Map.of(), List.of("-Xmx128m"), Precision.class.getName(), op.name(), dt.configName());
                if (!p.waitFor(120, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    fail(op + " " + dt + " did not finish\n" + ChildJvm.output(p, tmp));
                }
                boolean ok = p.exitValue() == 0;
                table.append(String.format("%-18s %-9s %s%n", op, dt.configName(), ok ? "works" : "exit " + p.exitValue()));
                if (ok != Precision.worksOnCpu(dt).contains(op)) wrong.add(op + " " + dt.configName() + (ok ? " works" : " fails"));
            }
        }
        System.out.print(table);
        assertTrue(wrong.isEmpty(), "Precision.worksOnCpu is out of date: " + wrong + "\n" + table);
    }
}

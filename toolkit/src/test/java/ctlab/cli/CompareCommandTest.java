package ctlab.cli;

import ctlab.stats.PairedComparison;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code ctlab compare} end to end: two runs' eval files matched by problem id. */
class CompareCommandTest {
    @TempDir Path dir;
    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int compare(String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        String[] all = new String[args.length + 1];
        all[0] = "compare";
        System.arraycopy(args, 0, all, 1, args.length);
        return cl.execute(all);
    }

    /** The fields of an eval record (ctlab.data.EvalOutcome) that these tests do not vary. */
    private static final String REST = ",\"reference\":\"1\",\"response\":\"1\",\"num_tokens\":1,\"finish_reason\":\"stop\",\"pass_n\":0,\"pass_correct\":0";

    /** Writes RUN/08-eval/eval-METHOD.jsonl with outcomes for problems p0..p(n-1), listed in the given order. */
    private Path eval(String run, String method, boolean[] correct, boolean reversed) throws Exception {
        Path f = dir.resolve(run).resolve("08-eval").resolve("eval-" + method + ".jsonl");
        Files.createDirectories(f.getParent());
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < correct.length; k++) {
            int i = reversed ? correct.length - 1 - k : k;
            sb.append("{\"problem_id\":\"p").append(i).append("\",\"method\":\"").append(method)
                    .append("\",\"correct\":").append(correct[i]).append(",\"extracted\":\"1\"").append(REST).append("}\n");
        }
        Files.writeString(f, sb.toString());
        return f;
    }

    @Test void comparesTwoRunsByProblemIdWhateverTheOrder() throws Exception {
        boolean[] a = new boolean[40], b = new boolean[40];
        for (int i = 0; i < 40; i++) {
            a[i] = i % 2 == 0;                 // 20 right
            b[i] = i % 2 == 0 || i % 5 == 1;   // 20 + 4 more (1, 11, 21, 31), none lost
        }
        eval("runA", "base", a, false);
        eval("runB", "cdpo", b, true);         // reversed order: matching is by problem id, not position
        assertEquals(0, compare(dir.resolve("runA") + ":base", dir.resolve("runB") + ":cdpo", "--seed", "3"), err.toString());
        PairedComparison expected = PairedComparison.of(a, b, 0.95, 10_000, 3);
        String text = out.toString();
        assertTrue(text.contains("40 problems; B - A = +10.0 points"), text);
        assertTrue(text.contains(String.format(java.util.Locale.ROOT, "exact McNemar p = %.4g (right only in A: 0, only in B: 4)", expected.mcnemarP())), text);
        assertEquals(0.125, expected.mcnemarP(), 1e-12);   // 4 discordant, all one way: 2 * 0.5^4
        assertTrue(text.contains(String.format(java.util.Locale.ROOT, "[%+.1f, %+.1f]", 100 * expected.ciLower(), 100 * expected.ciUpper())), text);
    }

    @Test void acceptsEvalFilesAndRejectsMismatchedProblemSets() throws Exception {
        Path fa = eval("r1", "dpo", new boolean[] {true, false, true}, false);
        Path fb = eval("r2", "dpo", new boolean[] {true, true}, false);
        assertEquals(2, compare(fa.toString(), fb.toString()));
        assertTrue(err.toString().contains("not on the same problems: 1 only in " + fa + " (e.g. p2)"), err.toString());
    }

    @Test void namesWhatIsMissing() throws Exception {
        eval("r3", "dpo", new boolean[] {true}, false);
        assertEquals(2, compare(dir.resolve("r3") + ":cdpo", dir.resolve("r3") + ":dpo"));
        assertTrue(err.toString().contains("no NN-eval/eval-cdpo.jsonl in " + dir.resolve("r3")), err.toString());
        assertEquals(2, compare("nowhere", dir.resolve("r3") + ":dpo"));
        assertTrue(err.toString().contains("nowhere: not an eval file, and not RUN_DIR:METHOD"), err.toString());
        Path dup = dir.resolve("dup.jsonl");
        Files.writeString(dup, "{\"problem_id\":\"p0\",\"method\":\"x\",\"correct\":true" + REST + "}\n"
                + "{\"problem_id\":\"p0\",\"method\":\"x\",\"correct\":false" + REST + "}\n");
        assertEquals(2, compare(dup.toString(), dir.resolve("r3") + ":dpo"));
        assertTrue(err.toString().contains("problem p0 has more than one outcome"), err.toString());
    }
}

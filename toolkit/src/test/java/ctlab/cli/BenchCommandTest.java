package ctlab.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ctlab bench} end to end on a tiny model: a child JVM worker per setting, the table, the JSON. */
class BenchCommandTest {
    private static final String[] TINY = {"--layers", "1", "--hidden", "16", "--heads", "2", "--kv-heads", "2",
            "--intermediate", "32", "--vocab", "40", "--batch", "2", "--seq", "8", "--prompt", "3", "--new-tokens", "4",
            "--decode-batches", "1,2", "--warmup", "1", "--iters", "2", "--decode-iters", "1", "--settings", "1"};

    private static String[] args(String... extra) {
        String[] a = new String[1 + TINY.length + extra.length];
        a[0] = "bench";
        System.arraycopy(TINY, 0, a, 1, TINY.length);
        System.arraycopy(extra, 0, a, 1 + TINY.length, extra.length);
        return a;
    }

    @Test
    void withoutPythonTheCtlabNumbersPrintAndTheReferenceIsSkipped(@TempDir Path dir) throws Exception {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        Path json = dir.resolve("bench.json");
        int code;
        try {
            System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
            code = cl.execute(args("--python", dir.resolve("no-such-python").toString(), "--json", json.toString()));
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, code, out + err);
        assertTrue(out.contains("PyTorch reference skipped: cannot run"), out);
        for (String phase : new String[] {"forward", "decode_b1", "decode_b2", "train"}) {
            assertTrue(out.lines().anyMatch(l -> l.startsWith(phase + " ")), phase + " row missing:\n" + out);
        }
        assertTrue(out.contains("1 thr, wait unset"), out);
        var report = ctlab.io.Jsonl.MAPPER.readTree(Files.readString(json));
        assertTrue(report.path("comparison").path("train").path("ctlab_tokens_per_s").asDouble() > 0, report.toString());
        assertEquals("1", report.path("runs").get(0).path("settings").path("OMP_NUM_THREADS").asText());
    }

    /** --kernels-ab: in this process, every op and phase measured in both modes, with ratios (values not judged). */
    @Test
    void kernelsAbMeasuresBothModesPerOpAndPhase(@TempDir Path dir) throws Exception {
        CommandLine cl = Main.commandLine();
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        Path json = dir.resolve("kab.json");
        int code;
        try {
            System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
            code = cl.execute(args("--kernels-ab", "--json", json.toString()));
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        var report = ctlab.io.Jsonl.MAPPER.readTree(Files.readString(json));
        for (String op : new String[] {"silu_mul_fwd", "silu_mul_fwd_bwd", "attention_fwd", "attention_fwd_bwd",
                "attention_decode_b1", "attention_decode_b2"}) {
            var e = report.path("ops").path(op);
            assertTrue(e.path("pure").path("best_us").asDouble() > 0 && e.path("torchscript").path("best_us").asDouble() > 0, op + ": " + e);
            assertTrue(out.lines().anyMatch(l -> l.startsWith(op + " ")), op + " row missing:\n" + out);
        }
        for (String phase : new String[] {"forward", "decode_b1", "decode_b2", "train"}) {
            var e = report.path("phases").path(phase);
            assertEquals(phase.startsWith("decode") ? 1 : 2, e.path("pure").path("iters").asInt(), phase + ": " + e);  // --iters 2, --decode-iters 1
            assertTrue(e.path("ratio_paired_median").asDouble() > 0, phase + ": " + e);
        }
    }

    @Test
    void wrongKernelsPropertyIsAUserErrorBeforeAnyWorkerStarts() {
        String before = System.getProperty("ctlab.kernels");
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        try {
            System.setProperty("ctlab.kernels", "fast");
            assertEquals(2, cl.execute(args("--no-python")));
            assertEquals("error: -Dctlab.kernels: unknown kernels 'fast' (expected pure or torchscript)", err.toString().strip());
        } finally {
            if (before == null) System.clearProperty("ctlab.kernels");
            else System.setProperty("ctlab.kernels", before);
        }
    }

    @Test
    void badSettingsAreAUserError() {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        assertEquals(2, cl.execute("bench", "--no-python", "--settings", "2:SPIN"));
        assertTrue(err.toString().contains("OMP_WAIT_POLICY must be PASSIVE or ACTIVE"), err.toString());
        assertEquals(2, cl.execute("bench", "--no-python", "--batch", "0"));
        assertTrue(err.toString().contains("--batch must be > 0"), err.toString());
    }

    /** Runs the reference too when a Python with torch + transformers is named by CTLAB_BENCH_PYTHON. */
    @Test
    void withTheReferenceBothSidesAndRatiosPrint() {
        String py = System.getenv("CTLAB_BENCH_PYTHON");
        Assumptions.assumeTrue(py != null && Files.isExecutable(Path.of(py)),
                "CTLAB_BENCH_PYTHON (a Python with torch + transformers) is not set; reference run skipped");
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        int code;
        try {
            System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
            code = Main.commandLine().execute(args("--python", py, "--torch-attn", "eager"));
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        assertTrue(out.contains("HF LlamaForCausalLM attn=eager"), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("train ") && l.matches(".*\\d+\\.\\d\\dx.*")), out);
    }
}

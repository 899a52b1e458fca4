package ctlab.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.analysis.RunData;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Runs made before token ids were carried (their DONE markers record no {@code versions.data_format}) are refused
 * with one line naming the stage folder and the way out, before anything runs or is overwritten; the analysis
 * refuses them too instead of reading them through fallback code.
 */
class OldRunFormatTest {
    @TempDir Path tmp;

    @Test void aRunFromAnOlderCtlabIsRefusedWithOneLineAndExit2() throws Exception {
        Path cfg = tmp.resolve("fake.yaml");
        Files.writeString(cfg, "task: organism\nmodel: unused\nsample:\n  problems: 3\n  n: 1\ntrain:\n  epochs: 1\n");
        Path dir = tmp.resolve("run");
        String[] args = {"run", cfg.toString(), "--run-dir", dir.toString(), "--pipeline", "ctlab.run.FakeStages"};
        assertEquals(0, Main.commandLine().execute(args));
        Path done = dir.resolve("01-sample/DONE");
        ObjectNode marker = (ObjectNode) Jsonl.MAPPER.readTree(Files.readString(done));
        assertEquals(ctlab.data.DataFormat.VERSION, marker.get("versions").get("data_format").asText());

        ((ObjectNode) marker.get("versions")).remove("data_format");       // as an older ctlab wrote it
        AtomicFiles.writeString(done, marker.toPrettyString() + "\n");
        byte[] samples = Files.readAllBytes(dir.resolve("01-sample/samples.jsonl"));
        StringWriter out = new StringWriter(), err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        assertEquals(2, cl.execute(args));
        String msg = err.toString().strip();
        assertEquals(1, msg.lines().count(), msg);
        assertTrue(msg.contains("01-sample: made by an older ctlab") && msg.endsWith("re-run with --force sample"), msg);
        assertArrayEquals(samples, Files.readAllBytes(dir.resolve("01-sample/samples.jsonl")), "nothing overwritten");

        CtlabException e = assertThrows(CtlabException.class, () -> RunData.load(dir));
        assertTrue(e.getMessage().contains("made by an older ctlab") && e.getMessage().contains("--force sample"), e.getMessage());

        // the way out works: --force sample re-runs it in today's format
        String[] force = {"run", cfg.toString(), "--run-dir", dir.toString(), "--pipeline", "ctlab.run.FakeStages",
                "--force", "sample"};
        assertEquals(0, Main.commandLine().execute(force));
        assertEquals(ctlab.data.DataFormat.VERSION,
                Jsonl.MAPPER.readTree(Files.readString(done)).get("versions").get("data_format").asText());
    }
}

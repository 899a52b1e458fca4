package ctlab.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ctlab data fetch} through {@link Main#commandLine()} with a local {@code file://} mirror. */
class DataCommandTest {
    @TempDir Path dir;

    @Test
    void mismatchingMirrorFailsWithExitTwoAndLeavesNothing() throws Exception {
        Path mirror = dir.resolve("mirror");
        Files.createDirectories(mirror.resolve("math500"));
        Files.writeString(mirror.resolve("math500/test.jsonl"), "{\"problem\": \"not the real file\"}\n");
        Path data = dir.resolve("data");
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute("data", "fetch", "--dir", data.toString(), "--mirror", mirror.toUri().toString(), "math500");
        assertEquals(2, code);
        assertTrue(err.toString().contains("size 33 bytes, expected 446564"), err.toString());
        assertFalse(Files.exists(data.resolve("math500/test.jsonl")));
        try (var s = Files.list(data.resolve("math500"))) { assertEquals(0, s.count(), "no temp file left"); }
    }

    @Test
    void unknownNameIsAnError() {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        assertEquals(2, cl.execute("data", "fetch", "--dir", dir.toString(), "imagenet"));
        assertTrue(err.toString().contains("unknown data file 'imagenet'"), err.toString());
    }
}

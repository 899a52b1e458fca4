package ctlab.cli;

import ai.djl.Device;
import ctlab.CtlabException;
import ctlab.model.LlamaModel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Issue #10 section 4: one clear line naming the file, exit 2, no stack trace, nothing half-written. */
class ClearErrorsTest {
    @TempDir Path tmp;
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int exec(String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    /** Exit 2 and exactly one line on stderr, {@code error: ...} containing every fragment. */
    void assertOneLineError(int code, String... fragments) {
        String e = err.toString();
        assertEquals(2, code, e);
        assertEquals(1, e.strip().lines().count(), "one line: " + e);
        assertTrue(e.startsWith("error: "), e);
        for (String f : fragments) assertTrue(e.contains(f), "'" + f + "' in: " + e);
        err.getBuffer().setLength(0);
    }

    Path config() throws Exception {
        Path c = tmp.resolve("fake.yaml");
        Files.writeString(c, "task: organism\nmodel: unused\nsample:\n  problems: 3\n  n: 1\ntrain:\n  epochs: 1\n");
        return c;
    }

    @Test void configPathIsADirectory() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("configs"));
        assertOneLineError(exec("run", dir.toString()), dir + ": is a directory, not a file");
    }

    @Test void runDirIsARegularFile() throws Exception {
        Path file = tmp.resolve("notes.txt");
        Files.writeString(file, "keep me\n");
        assertOneLineError(exec("run", config().toString(), "--run-dir", file.toString(), "--pipeline", "ctlab.run.FakeStages"),
                file + ": not a directory");
        assertEquals("keep me\n", Files.readString(file));
    }

    @Test void diskFullIsOneLineNamingTheFile() throws Exception {
        Path full = Path.of("/dev/full");              // every write to it fails with ENOSPC, as on a full disk
        Assumptions.assumeTrue(Files.exists(full), "needs /dev/full (Linux)");
        Path run = Files.createDirectories(tmp.resolve("run"));
        Files.createSymbolicLink(run.resolve("log.txt"), full);
        assertOneLineError(exec("run", config().toString(), "--run-dir", run.toString(), "--pipeline", "ctlab.run.FakeStages"),
                run.resolve("log.txt").toString(), "No space left on device");
        assertFalse(Files.exists(run.resolve("01-sample")), "no stage started");
    }

    @Test void fileSystemErrorsMapToOneLine() {
        // Read-only mounts and permissions cannot be simulated for root in a test; the mapping is checked directly.
        assertEquals("writing /r/report.html: /r/.report.html.1.tmp: Read-only file system", Main.fileSystemError(
                new UncheckedIOException("writing /r/report.html",
                        new FileSystemException("/r/.report.html.1.tmp", null, "Read-only file system"))));
        assertEquals("locking /r: /r/.lock: permission denied", Main.fileSystemError(
                new UncheckedIOException("locking /r", new AccessDeniedException("/r/.lock"))));
        assertEquals("writing /r/log.txt: No space left on device", Main.fileSystemError(
                new UncheckedIOException("writing /r/log.txt", new IOException("No space left on device"))));
        assertEquals("locking /r: Read-only file system", Main.fileSystemError(
                new UncheckedIOException("locking /r", new FileSystemException("/r", null, "Read-only file system"))),
                "the file is named once");
        assertNull(Main.fileSystemError(new IllegalStateException("a bug")), "bugs keep their stack trace");
        assertNull(Main.fileSystemError(new UncheckedIOException(new IOException("stream closed"))));
    }

    @Test void gradeInputOrOutputIsADirectory() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("d"));
        Path in = tmp.resolve("pairs.jsonl");
        Files.writeString(in, "{\"id\": 1, \"reference\": \"4\", \"prediction\": \"4\"}\n");
        assertOneLineError(exec("grade", "--task", "gsm8k", "--input", dir.toString(), "--output", tmp.resolve("o.jsonl").toString()),
                dir + ": is a directory");
        assertOneLineError(exec("grade", "--task", "gsm8k", "--input", in.toString(), "--output", dir.toString()),
                "--output " + dir + ": is a directory");
        try (var s = Files.list(dir)) { assertEquals(0, s.count(), "nothing written into it"); }
    }

    @Test void demoHasTheForceItsMessagesRecommend() {
        DemoCommand demo = new DemoCommand();
        new CommandLine(demo).parseArgs("--force", "eval", "--force", "train,rollout");
        assertEquals(java.util.List.of("eval", "train", "rollout"), demo.force);
    }

    @Test void aMissingModelFolderIsNotFound() {
        Path missing = tmp.resolve("organism-bas");
        CtlabException e = assertThrows(CtlabException.class, () -> LlamaModel.load(missing, Device.cpu()));
        assertEquals(missing + ": model folder not found", e.getMessage());
    }

    @Test void compareOnAMissingFileSaysNotFound() throws Exception {
        Path missing = tmp.resolve("eval-cdpo.jsonl");
        assertOneLineError(exec("compare", missing.toString(), missing.toString()), missing + ": file not found");
        Path dir = Files.createDirectories(tmp.resolve("somedir"));
        assertOneLineError(exec("compare", dir.toString(), dir.toString()), dir + ": is a directory");
    }
}

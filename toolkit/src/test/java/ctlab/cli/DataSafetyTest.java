package ctlab.cli;

import ctlab.run.RunDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Issue #10, "data lost": a failing command must not delete or overwrite what was there. */
class DataSafetyTest {
    @TempDir Path tmp;
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int exec(String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    /** A run dir whose stage folder {@code folder} holds a finished result, and a config.yaml from that run. */
    Path finishedRun(String folder) throws Exception {
        Path run = tmp.resolve("run");
        Files.createDirectories(run.resolve(folder));
        Files.writeString(run.resolve(folder).resolve("result.txt"), "hours of work\n");
        Files.writeString(run.resolve(RunDir.CONFIG), "# config of the run that produced " + folder + "\n");
        Files.writeString(run.resolve(RunDir.LOG), "earlier log\n");
        Files.createFile(run.resolve(".lock"));
        return run;
    }

    Path organismConfig(String extra) throws Exception {
        Path model = Files.createDirectories(tmp.resolve("model"));
        Files.writeString(model.resolve("config.json"), "{}");
        Path train = tmp.resolve("train.jsonl");
        Files.writeString(train, "{\"id\": \"p0\", \"question\": \"1+1\", \"answer\": \"2\"}\n");
        Path c = tmp.resolve("exp.yaml");
        Files.writeString(c, "task: organism\nmodel: " + model + "\ndata:\n  train: " + train + "\n" + extra);
        return c;
    }

    void assertUntouched(Path run, String folder) throws Exception {
        assertEquals("hours of work\n", Files.readString(run.resolve(folder).resolve("result.txt")), "finished outputs kept");
        assertTrue(Files.readString(run.resolve(RunDir.CONFIG)).startsWith("# config of the run that produced"),
                "config.yaml not replaced by a refused invocation");
        assertFalse(err.toString().contains("\tat "), "no stack trace: " + err);
    }

    @Test void forceWithATypoInTheModelDeletesNothing() throws Exception {
        Path run = finishedRun("07-train");
        int code = exec("train", organismConfig("").toString(), "--run-dir", run.toString(), "--force",
                "--set", "model=" + tmp.resolve("organism-bas"));
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("organism-bas") && err.toString().contains("not found"), err.toString());
        assertUntouched(run, "07-train");
    }

    @Test void forceEvalWithoutTestDataDeletesNothing() throws Exception {
        Path run = finishedRun("08-eval");
        int code = exec("eval", organismConfig("").toString(), "--run-dir", run.toString(), "--force");
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("data.test"), err.toString());
        assertUntouched(run, "08-eval");
    }

    @Test void aRunRefusedByItsChecksKeepsTheRunDirsConfig() throws Exception {
        // a folder no stage owns: a stage folder without markers is refused by its own check, before the inputs'
        Path run = finishedRun("notes");
        Path c = organismConfig("");
        Files.delete(tmp.resolve("train.jsonl"));
        assertEquals(2, exec("run", c.toString(), "--run-dir", run.toString(), "--pipeline", "ctlab.run.FakeStages"));
        assertTrue(err.toString().contains("train.jsonl") && err.toString().contains("not found"), err.toString());
        assertUntouched(run, "notes");
    }

    @Test void aFolderWithSomeoneElsesConfigYamlIsNotUsedAsARunDir() throws Exception {
        Path mine = Files.createDirectories(tmp.resolve("project"));
        Files.writeString(mine.resolve("config.yaml"), "my: own config\n");
        assertEquals(2, exec("run", organismConfig("").toString(), "--run-dir", mine.toString(),
                "--pipeline", "ctlab.run.FakeStages"));
        assertTrue(err.toString().contains(mine + ": not a ctlab run directory"), err.toString());
        assertEquals("my: own config\n", Files.readString(mine.resolve("config.yaml")));
        try (var s = Files.list(mine)) { assertEquals(1, s.count(), "nothing else written into it"); }
    }

    @Test void gradeRefusesToWriteOverItsInput() throws Exception {
        Path in = tmp.resolve("pairs.jsonl");
        String text = "{\"id\": 1, \"reference\": \"4\", \"prediction\": \"4\"}\n";
        Files.writeString(in, text);
        assertEquals(2, exec("grade", "--task", "gsm8k", "--input", in.toString(), "--output", in.toString()));
        assertTrue(err.toString().contains("--output " + in + " is the input file"), err.toString());
        assertEquals(text, Files.readString(in));

        Path link = Files.createSymbolicLink(tmp.resolve("results.jsonl"), in);     // the same file under another name
        err.getBuffer().setLength(0);
        assertEquals(2, exec("grade", "--task", "gsm8k", "--input", in.toString(), "--output", link.toString()));
        assertTrue(err.toString().contains("is the input file"), err.toString());
        assertEquals(text, Files.readString(in));
        assertTrue(Files.isSymbolicLink(link));
    }
}

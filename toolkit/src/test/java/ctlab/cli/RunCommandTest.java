package ctlab.cli;

import ctlab.io.Jsonl;
import ctlab.run.FakeStages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class RunCommandTest {
    @TempDir Path tmp;
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int exec(CommandLine cl, String... args) {
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    Path config(String extra) throws Exception {
        Path c = tmp.resolve("fake.yaml");
        Files.writeString(c, "task: organism\nmodel: unused\nsample:\n  problems: 5\n  n: 1\ntrain:\n  epochs: 1\n" + extra);
        return c;
    }

    @Test void listStagesShowsThePipelineInOrder() {
        assertEquals(0, exec(Main.commandLine(), "run", "--list-stages"));
        String[] lines = out.toString().strip().split("\n");
        assertEquals(8, lines.length, out.toString());
        assertTrue(lines[0].startsWith("01-sample"), lines[0]);
        assertTrue(lines[4].startsWith("05-score-ce"), lines[4]);
        assertTrue(lines[7].startsWith("08-eval"), lines[7]);
        assertFalse(out.toString().contains("[not implemented yet]"), "every cdpo stage is real now: " + out);
    }

    @Test void runsAPipelineWithOverridesAndPrintsASummary() throws Exception {
        Path dir = tmp.resolve("run");
        int code = exec(Main.commandLine(), "run", config("").toString(), "--run-dir", dir.toString(),
                "--set", "train.beta=0.25", "--pipeline", "ctlab.run.FakeStages");
        assertEquals(0, code, err.toString());
        assertTrue(out.toString().contains("01-sample        ran"), out.toString());
        assertTrue(out.toString().contains("02-train         ran"), out.toString());
        assertTrue(Files.readString(dir.resolve("config.yaml")).contains("beta: 0.25"));
        assertEquals(0.25, Jsonl.MAPPER.readTree(Files.readString(dir.resolve("02-train/policy.json"))).get("beta").asDouble());

        out.getBuffer().setLength(0);
        assertEquals(0, exec(Main.commandLine(), "run", config("").toString(), "--run-dir", dir.toString(),
                "--set", "train.beta=0.25", "--pipeline", "ctlab.run.FakeStages"));
        assertTrue(out.toString().contains("01-sample        skipped"), out.toString());

        assertEquals(2, exec(Main.commandLine(), "run", config("").toString(), "--run-dir", dir.toString(),
                "--pipeline", "ctlab.run.FakeStages"));
        assertTrue(err.toString().contains("error: stage train finished in 02-train/ with a different config (train.beta: 0.25 -> 0.1)"),
                err.toString());
    }

    @Test void configErrorsArePrintedWithoutStackTraceAndExit2() throws Exception {
        assertEquals(2, exec(Main.commandLine(), "run", config("ce:\n  beta: -1\n").toString()));
        assertTrue(err.toString().startsWith("error: " + tmp.resolve("fake.yaml") + ": ce.beta: must be > 0, got -1"), "[" + err + "]");
        assertFalse(err.toString().contains("\tat "), "no stack trace");

        err.getBuffer().setLength(0);
        assertEquals(2, exec(Main.commandLine(), "run", config("").toString(), "--set", "sample.topp=0.9"));
        assertTrue(err.toString().contains("error: --set sample.topp=0.9: sample.topp: unknown key (did you mean top_p?)"), err.toString());

        err.getBuffer().setLength(0);
        assertEquals(2, exec(Main.commandLine(), "run"));
        assertTrue(err.toString().contains("missing CONFIG"), err.toString());
    }

    @Test void stageSubcommandsAreOneRegistrationPerStage() throws Exception {
        CommandLine cl = new CommandLine(new Main());           // without the real stages' subcommands
        StageCommand.addAll(cl, new FakeStages().get());
        assertEquals(0, exec(cl, "sample", "--help"));
        assertTrue(out.toString().contains("fake sampling: one record per problem"), out.toString());
        assertTrue(out.toString().contains("Same as: ctlab run CONFIG --only sample"), out.toString());
        assertTrue(out.toString().contains("--run-dir"), out.toString());

        Path dir = tmp.resolve("run");
        assertEquals(0, exec(cl, "sample", config("").toString(), "--run-dir", dir.toString(),
                "--pipeline", "ctlab.run.FakeStages"), err.toString());
        assertTrue(Files.exists(dir.resolve("01-sample/DONE")));
        assertFalse(Files.exists(dir.resolve("02-train")), "only its own stage ran");
        assertEquals(0, exec(cl, "sample", config("").toString(), "--run-dir", dir.toString(), "--force",
                "--pipeline", "ctlab.run.FakeStages"), err.toString());
        assertTrue(out.toString().contains("01-sample        ran"), out.toString());
    }
}

package ctlab.cli;

import ctlab.task.organism.OrganismData;
import ctlab.task.organism.Split;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class OrganismCommandTest {
    @TempDir Path dir;

    @Test
    void generateWritesSplitsManifestAndTokenizer() throws Exception {
        int rc = Main.commandLine().execute("organism", "generate", "--out", dir.toString(), "--seed", "3",
                "--train", "30", "--validation", "5", "--test", "7", "--max-steps", "3");
        assertEquals(0, rc);
        assertEquals(30, OrganismData.read(dir.resolve(Split.TRAIN.fileName())).size());
        assertEquals(7, OrganismData.read(dir.resolve(Split.TEST.fileName())).size());
        assertTrue(OrganismData.read(dir.resolve("train.jsonl")).stream().allMatch(p -> p.steps() <= 3));
        assertTrue(Files.readString(dir.resolve(OrganismData.MANIFEST)).contains("\"maxSteps\" : 3"));
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")));
    }

    @Test
    void generateWithTrapsWritesTheGroundTruthAndBadTrapKnobsAreUserErrors() throws Exception {
        int rc = Main.commandLine().execute("organism", "generate", "--out", dir.toString(), "--train", "200",
                "--validation", "5", "--test", "50", "--traps", "--trap-families", "donate,forgive", "--trap-rate", "0.5",
                "--trap-p", "0.9,0.1");
        assertEquals(0, rc);
        var train = OrganismData.read(dir.resolve("train.jsonl"));
        assertTrue(train.stream().anyMatch(p -> p.trap() != null && p.trap().pretrainSolution() != null));
        assertTrue(train.stream().filter(p -> p.trap() != null)
                .allMatch(p -> p.trap().family().equals("donate") || p.trap().family().equals("forgive")));
        assertTrue(Files.readString(dir.resolve(OrganismData.MANIFEST)).contains("\"rate\" : 0.5"));
        assertTrue(Files.readString(dir.resolve("tokenizer.json")).contains("\"donated \""));

        StringWriter err = new StringWriter();
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        Path other = dir.resolve("other");
        assertEquals(2, cl.execute("organism", "generate", "--out", other.toString(), "--trap-p", "0.9,1.5"));
        assertTrue(err.toString().contains("'p'") && !err.toString().contains("\tat "), err.toString());
        assertFalse(Files.exists(other), "nothing written on bad input");
        assertEquals(2, cl.execute("organism", "pretrain", "--out", other.toString(), "--recipe", "nope"));
        assertTrue(err.toString().contains("--recipe"), err.toString());
        assertFalse(Files.exists(other));
    }

    @Test
    void badDifficultyIsAUserErrorWithExitCode2() {
        StringWriter err = new StringWriter();
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute("organism", "generate", "--out", dir.toString(), "--min-steps", "5", "--max-steps", "3");
        assertEquals(2, rc);
        assertTrue(err.toString().contains("minSteps"), err.toString());
    }

    @Test
    void evalOfAMissingModelFolderNamesIt() {
        StringWriter err = new StringWriter();
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute("organism", "eval", "--model", dir.resolve("nope").toString());
        assertEquals(2, rc, err.toString());
        assertTrue(err.toString().contains("nope"), err.toString());
    }
}

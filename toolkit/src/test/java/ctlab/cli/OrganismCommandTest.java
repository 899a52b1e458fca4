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

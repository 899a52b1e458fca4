package ctlab.run.stage;

import ctlab.io.Jsonl;
import ctlab.run.ChildJvm;
import ctlab.task.organism.OrganismTask;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The kill test on the REAL sample stage: a child JVM runs {@code ctlab run CONFIG --only sample} on the
 * CI-sized organism model and is killed with SIGKILL once a few problems are on disk; the same command run again
 * must finish with every problem exactly once, in order, and the same sampled text, byte for byte, as an
 * uninterrupted run.
 */
@Tag("slow")
class SampleKillResumeTest {
    static final int PROBLEMS = 24;
    static final Duration LIMIT = Duration.ofSeconds(240);

    @TempDir Path tmp;

    Process ctlab(Path config, String runDir) throws Exception {
        return ChildJvm.ctlab(tmp, List.of(), "run", config.toString(), "--run-dir", runDir, "--only", "sample");
    }

    @Test void sigkillDuringSamplingLosesAndDuplicatesNothing() throws Exception {
        Path config = tmp.resolve("kill.yaml");
        Files.writeString(config, OrganismFixture.yaml("sample: {problems: " + PROBLEMS
                + ", n: 4, temperature: 1.0, max_new_tokens: 64, few_shot: false, batch_size: 2}\n"));

        Process clean = ctlab(config, "clean");
        assertEquals(0, ChildJvm.finish(clean, tmp, LIMIT), ChildJvm.output(clean, tmp));
        Path cleanFile = tmp.resolve("clean/01-sample/samples.jsonl");

        Path samples = tmp.resolve("cut/01-sample/samples.jsonl");
        Process p = ctlab(config, "cut");
        ChildJvm.await(p, tmp, LIMIT, "4 sampled problems", () -> ChildJvm.completeLines(samples) >= 4);
        ChildJvm.kill(p);
        int afterKill = Jsonl.readLenient(samples).size();
        assertTrue(afterKill >= 4 && afterKill < PROBLEMS, "killed mid-stage, records: " + afterKill);
        assertFalse(Files.exists(tmp.resolve("cut/01-sample/DONE")));

        p = ctlab(config, "cut");
        assertEquals(0, ChildJvm.finish(p, tmp, LIMIT), ChildJvm.output(p, tmp));
        assertTrue(Files.exists(tmp.resolve("cut/01-sample/DONE")));

        List<String> ids = Jsonl.read(samples).stream().map(l -> l.text("problem_id")).toList();
        List<String> expected = OrganismTask.INSTANCE.load(Path.of(OrganismFixture.base().resolve("data/train.jsonl").toString()))
                .subList(0, PROBLEMS).stream().map(ctlab.task.Problem::id).toList();
        assertEquals(expected, ids, "every problem exactly once, in order");
        List<String> want = Files.readAllLines(cleanFile), got = Files.readAllLines(samples);
        for (int i = 0; i < want.size(); i++) {
            assertEquals(want.get(i), got.get(i), "line " + (i + 1) + " (" + afterKill + " lines were on disk at the kill): "
                    + "same sampled text as the uninterrupted run");
        }
        assertTrue(Files.readString(tmp.resolve("cut/01-sample/log.txt")).contains("resuming"));
    }
}

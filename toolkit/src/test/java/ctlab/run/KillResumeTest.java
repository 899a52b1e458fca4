package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The kill test on stand-in stages: a child JVM runs {@code ctlab run} and is killed with SIGKILL
 * during sampling and again during training; re-running the same command must leave exactly the records
 * and the trained state of an uninterrupted run, with training continuing from its checkpoint.
 */
@Tag("slow")
class KillResumeTest {
    static final int PROBLEMS = 30;
    static final String CONFIG = "task: organism\nmodel: unused\nsample:\n  problems: " + PROBLEMS + "\n  n: 3\n"
            + "train:\n  epochs: 2\n";
    static final Duration LIMIT = Duration.ofSeconds(120);

    @TempDir Path tmp;
    Path config;

    @BeforeEach void writeConfig() throws Exception {
        config = tmp.resolve("fake.yaml");
        Files.writeString(config, CONFIG);
    }

    Process ctlab(String runDir, long delayMs) throws Exception {
        return ChildJvm.ctlab(tmp, List.of("-Dctlab.fake.delay.ms=" + delayMs),
                "run", config.toString(), "--run-dir", runDir, "--pipeline", "ctlab.run.FakeStages");
    }

    Path cleanRun() throws Exception {
        Process p = ctlab("clean", 0);
        assertEquals(0, ChildJvm.finish(p, tmp, LIMIT), ChildJvm.output(p, tmp));
        return tmp.resolve("clean");
    }

    @Test void sigkillDuringSamplingAndTrainingLosesAndDuplicatesNothing() throws Exception {
        Path clean = cleanRun();
        Path dir = tmp.resolve("cut");
        Path samples = dir.resolve("01-sample/samples.jsonl");
        Path checkpoint = dir.resolve("02-train/checkpoint.json");

        // 1. SIGKILL while sampling.
        Process p = ctlab("cut", 40);
        ChildJvm.await(p, tmp, LIMIT, "8 sampled records", () -> ChildJvm.completeLines(samples) >= 8);
        ChildJvm.kill(p);
        int afterKill = Jsonl.readLenient(samples).size();
        assertTrue(afterKill >= 8 && afterKill < PROBLEMS, "killed mid-stage, records: " + afterKill);
        assertFalse(Files.exists(dir.resolve("01-sample/DONE")));

        // 2. Same command: sampling resumes and completes; SIGKILL again once training has checkpointed.
        p = ctlab("cut", 40);
        ChildJvm.await(p, tmp, LIMIT, "a training checkpoint at step >= 6", () -> checkpointStep(checkpoint) >= 6);
        ChildJvm.kill(p);
        assertTrue(Files.exists(dir.resolve("01-sample/DONE")));
        assertFalse(Files.exists(dir.resolve("02-train/DONE")));
        int killedAtCheckpoint = checkpointStep(checkpoint);
        assertTrue(killedAtCheckpoint < 40, "training was cut before its end: " + killedAtCheckpoint);

        // 3. Same command to the end.
        p = ctlab("cut", 0);
        assertEquals(0, ChildJvm.finish(p, tmp, LIMIT), ChildJvm.output(p, tmp));

        List<String> ids = new ArrayList<>();
        for (Jsonl.Line l : Jsonl.read(samples)) ids.add(l.text("problem_id"));
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < PROBLEMS; i++) expected.add(String.format("p%03d", i));
        assertEquals(expected, ids, "every record exactly once, in order");
        assertEquals(Files.readString(clean.resolve("01-sample/samples.jsonl")), Files.readString(samples),
                "same sampled text as the uninterrupted run");
        assertEquals(Files.readString(clean.resolve("02-train/policy.json")), Files.readString(dir.resolve("02-train/policy.json")),
                "same trained state as the uninterrupted run");

        JsonNode resumed = Jsonl.read(dir.resolve("02-train/metrics.jsonl")).stream().map(Jsonl.Line::json)
                .filter(j -> j.has("resumed_from_step")).findFirst().orElseThrow().get("resumed_from_step");
        assertTrue(resumed.asInt() >= killedAtCheckpoint && resumed.asInt() > 0, "training continued from its checkpoint: " + resumed);
        assertTrue(Files.readString(dir.resolve("02-train/log.txt")).contains("resumed from checkpoint at step " + resumed.asInt()));
        assertTrue(StageMarker.read(dir.resolve("02-train/DONE")).orElseThrow().resumed());
    }

    @Test void sigtermInterruptsCleanlyAndLogsIt() throws Exception {
        Path clean = cleanRun();
        Path dir = tmp.resolve("term");
        Path samples = dir.resolve("01-sample/samples.jsonl");
        Process p = ctlab("term", 60);
        ChildJvm.await(p, tmp, LIMIT, "5 sampled records", () -> ChildJvm.completeLines(samples) >= 5);
        p.destroy();                                              // SIGTERM: the shutdown hook interrupts the run
        int code = ChildJvm.finish(p, tmp, LIMIT);
        assertNotEquals(0, code);
        assertTrue(Files.readString(dir.resolve("01-sample/log.txt")).contains("interrupted; partial outputs kept"),
                ChildJvm.output(p, tmp));
        // the exit code is the one docs/runs.md gives for SIGTERM, and the user is told at once that it is stopping
        assertEquals(143, code, ChildJvm.output(p, tmp));
        Path docs = Path.of("").toAbsolutePath();
        while (!Files.isDirectory(docs.resolve("docs"))) docs = docs.getParent();
        assertTrue(Files.readString(docs.resolve("docs/runs.md")).contains("143 by SIGTERM"), "docs/runs.md documents 143");
        assertTrue(ChildJvm.output(p, tmp).contains("stopping: finishing the current record or step"), ChildJvm.output(p, tmp));
        assertFalse(Files.exists(dir.resolve("01-sample/DONE")));

        p = ctlab("term", 0);
        assertEquals(0, ChildJvm.finish(p, tmp, LIMIT), ChildJvm.output(p, tmp));
        assertEquals(Files.readString(clean.resolve("01-sample/samples.jsonl")), Files.readString(samples));
        assertEquals(Files.readString(clean.resolve("02-train/policy.json")), Files.readString(dir.resolve("02-train/policy.json")));
    }

    static int checkpointStep(Path checkpoint) {
        try {
            if (!Files.exists(checkpoint)) return -1;
            return Jsonl.MAPPER.readTree(Files.readString(checkpoint)).get("step").asInt();
        } catch (Exception e) {
            return -1;                                             // never half-written (atomic), but be safe
        }
    }
}

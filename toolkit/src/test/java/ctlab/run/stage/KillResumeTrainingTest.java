package ctlab.run.stage;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import ctlab.run.ChildJvm;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The kill test on REAL training: a child JVM runs {@code ctlab run} (train-pos/neg, score-ce and train on
 * the golden Llama) and is killed with SIGKILL during train-pos and again during train (dpo), each time after a
 * checkpoint; the same command then finishes. Training must continue from the checkpoint and end with the same
 * adapter bytes and the same per-step losses as an uninterrupted run (one PyTorch thread, config threads: 1).
 */
@Tag("slow")
class KillResumeTrainingTest {
    static final Duration LIMIT = Duration.ofSeconds(240);
    static final List<String> SETS = List.of("--set", "sft.epochs=20", "--set", "train.epochs=12", "--set", "train.losses=[dpo]");

    @TempDir Path tmp;
    Path config;

    @BeforeEach void writeConfig() throws Exception {
        config = tmp.resolve("train.yaml");
        Files.writeString(config, TrainPipeline.config(TrainPipeline.goldenModel("llama").toString(), ""));
    }

    Process ctlab(String runDir) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("run", config.toString(), "--run-dir", runDir,
                "--pipeline", "ctlab.run.stage.TrainPipeline"));
        args.addAll(SETS);
        // one inter-op thread too: intermittent cross-process differences in train-pos were seen with two
        return ChildJvm.ctlab(tmp, List.of("-Dai.djl.pytorch.num_interop_threads=1"), args.toArray(String[]::new));
    }

    static int newestCheckpoint(Path checkpoints) {
        if (!Files.isDirectory(checkpoints)) return -1;
        try (Stream<Path> s = Files.list(checkpoints)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("checkpoint-\\d+"))
                    .mapToInt(n -> Integer.parseInt(n.substring("checkpoint-".length()))).max().orElse(-1);
        } catch (Exception e) {
            return -1;
        }
    }

    static double[] losses(Path metrics) {
        return Jsonl.read(metrics).stream().map(Jsonl.Line::json).mapToDouble(j -> j.get("loss").asDouble()).toArray();
    }

    @Test void sigkillDuringSftAndPreferenceTrainingResumesToTheSameAdapters() throws Exception {
        Process p = ctlab("clean");
        assertEquals(0, ChildJvm.finish(p, tmp, LIMIT), ChildJvm.output(p, tmp));
        Path clean = tmp.resolve("clean"), cut = tmp.resolve("cut");

        // 1. SIGKILL during train-pos, after a checkpoint at step >= 12 (of 120)
        p = ctlab("cut");
        Path posCkpt = cut.resolve("03-train-pos/checkpoints");
        ChildJvm.await(p, tmp, LIMIT, "a train-pos checkpoint", () -> newestCheckpoint(posCkpt) >= 12);
        ChildJvm.kill(p);
        int posKilledAt = newestCheckpoint(posCkpt);
        assertFalse(Files.exists(cut.resolve("03-train-pos/DONE")), "killed before train-pos finished");
        assertTrue(posKilledAt < 120, "killed mid-training: " + posKilledAt);

        // 2. same command; SIGKILL again during train (dpo), after a checkpoint
        p = ctlab("cut");
        Path dpoCkpt = cut.resolve("07-train/dpo/checkpoints");
        ChildJvm.await(p, tmp, LIMIT, "a dpo checkpoint", () -> newestCheckpoint(dpoCkpt) >= 6);
        ChildJvm.kill(p);
        int dpoKilledAt = newestCheckpoint(dpoCkpt);
        assertTrue(Files.exists(cut.resolve("03-train-pos/DONE")));
        assertFalse(Files.exists(cut.resolve("07-train/DONE")));
        assertTrue(dpoKilledAt < 72, "killed mid-training: " + dpoKilledAt);

        // 3. same command to the end
        p = ctlab("cut");
        assertEquals(0, ChildJvm.finish(p, tmp, LIMIT), ChildJvm.output(p, tmp));

        String posLog = Files.readString(cut.resolve("03-train-pos/log.txt"));
        assertTrue(posLog.contains("resumed from checkpoint at step "), posLog);
        String trainLog = Files.readString(cut.resolve("07-train/log.txt"));
        assertTrue(trainLog.contains("dpo: 72/72 steps (resumed from checkpoint at step "), trainLog);
        for (String f : List.of("03-train-pos/adapter_model.safetensors", "04-train-neg/adapter_model.safetensors",
                "05-score-ce/pairs-scored.jsonl", "07-train/reference-logps.json", "07-train/dpo/adapter_model.safetensors")) {
            assertArrayEquals(Files.readAllBytes(clean.resolve(f)), Files.readAllBytes(cut.resolve(f)),
                    f + " is byte-identical to the uninterrupted run's");
        }
        assertArrayEquals(losses(clean.resolve("03-train-pos/metrics.jsonl")), losses(cut.resolve("03-train-pos/metrics.jsonl")),
                "same per-step SFT losses, each step once");
        assertArrayEquals(losses(clean.resolve("07-train/dpo/metrics.jsonl")), losses(cut.resolve("07-train/dpo/metrics.jsonl")),
                "same per-step DPO losses, each step once");
        JsonNode done = Jsonl.MAPPER.readTree(Files.readString(cut.resolve("07-train/DONE")));
        assertTrue(done.get("resumed").asBoolean());
    }
}

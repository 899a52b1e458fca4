package ctlab.task.organism;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The committed checkpoint (models/organism-base) loads through the engine, was made by today's standard
 * recipe, and re-measures to its recorded greedy accuracy (inside the 30–70% band).
 */
class OrganismBaseModelTest {
    static Path modelDir() {
        for (Path p : new Path[] {Path.of("../models/organism-base"), Path.of("models/organism-base")})
            if (Files.isRegularFile(p.resolve("model.safetensors"))) return p;
        return null;
    }

    @Test
    void committedBaseModelReproducesItsRecordedGreedyAccuracy() throws Exception {
        Path dir = modelDir();
        Assumptions.assumeTrue(dir != null, "models/organism-base not found from " + Path.of("").toAbsolutePath());
        assertTrue(Files.size(dir.resolve("model.safetensors")) <= 8L << 20, "checkpoint must stay <= 8 MB");
        PretrainConfig recorded = Jsonl.MAPPER.readValue(Files.readString(dir.resolve("pretrain_config.json")),
                PretrainConfig.class);
        assertEquals(PretrainConfig.standard(), recorded, "the committed model must come from the standard recipe");

        var r = OrganismEvalRun.run(dir, null, null, 0, 1.0, 1, null);
        JsonNode eval = Jsonl.MAPPER.readTree(Files.readString(dir.resolve("eval.json")));
        int recordedCorrect = eval.path("greedy").path("correct").asInt();
        System.out.println("organism-base greedy accuracy now: " + r.greedy() + " (recorded " + recordedCorrect + "/500)");
        assertEquals(500, r.greedy().total());
        // fp32 argmax ties can flip on another CPU's kernels, so allow a handful of problems either way
        assertTrue(Math.abs(r.greedy().correct() - recordedCorrect) <= 5,
                r.greedy().correct() + " vs recorded " + recordedCorrect);
        assertTrue(r.greedy().estimate() >= 0.30 && r.greedy().estimate() <= 0.70, r.greedy().toString());
    }
}

package ctlab.task.organism;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The committed organism v2 checkpoint (models/organism-traps) was made by today's traps recipe, loads with its
 * 500-token v2 tokenizer and re-measures to its recorded trap vs no-trap greedy accuracy.
 */
class OrganismTrapsModelTest {
    static Path modelDir() {
        for (Path p : new Path[] {Path.of("../models/organism-traps"), Path.of("models/organism-traps")})
            if (Files.isRegularFile(p.resolve("model.safetensors"))) return p;
        return null;
    }

    @Test
    void committedTrapsModelReproducesItsRecordedTrapVsNoTrapAccuracy() throws Exception {
        Path dir = modelDir();
        Assumptions.assumeTrue(dir != null, "models/organism-traps not found from " + Path.of("").toAbsolutePath());
        assertTrue(Files.size(dir.resolve("model.safetensors")) <= 8L << 20, "checkpoint must stay <= 8 MB");
        PretrainConfig recorded = Jsonl.MAPPER.readValue(Files.readString(dir.resolve("pretrain_config.json")),
                PretrainConfig.class);
        assertEquals(PretrainConfig.trapsRecipe(), recorded, "the committed model must come from the traps recipe");

        var r = OrganismEvalRun.run(dir, null, null, 0, 1.0, 1, null);
        JsonNode traps = Jsonl.MAPPER.readTree(Files.readString(dir.resolve("eval.json"))).path("traps");
        System.out.println("organism-traps now: " + r.traps());
        assertNotNull(r.traps());
        assertEquals(traps.path("clean").path("n").asInt(), r.traps().clean().total());
        assertEquals(traps.path("trapped").path("n").asInt(), r.traps().trapped().total());
        // fp32 argmax ties can flip on another CPU's kernels, so allow a handful of problems either way
        assertTrue(Math.abs(r.traps().clean().correct() - traps.path("clean").path("correct").asInt()) <= 5, r.traps().toString());
        assertTrue(Math.abs(r.traps().trapped().correct() - traps.path("trapped").path("correct").asInt()) <= 5, r.traps().toString());
        // the phenomenon: traps cost far more accuracy than anything else, and greedy mostly takes the trap op
        assertTrue(r.traps().clean().estimate() >= 0.9, r.traps().toString());   // issue 13's targets
        assertTrue(r.traps().trapped().estimate() <= 0.5, r.traps().toString());
        assertTrue(r.traps().clean().estimate() - r.traps().trapped().estimate() >= 0.3, r.traps().toString());
        assertTrue(r.traps().greedyBranches().trap() > r.traps().greedyBranches().correct(), r.traps().toString());
    }
}

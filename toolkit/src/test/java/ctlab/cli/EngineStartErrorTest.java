package ctlab.cli;

import ctlab.run.ChildJvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A libtorch that does not load (here PYTORCH_LIBRARY_PATH names a folder whose libtorch.so is not a library; under
 * {@code --gpu} without network it is DJL's failed download) is a one-line error and exit 2, not a stack trace.
 * Child JVM: the engine loads once per JVM.
 */
@Tag("slow")
class EngineStartErrorTest {
    @TempDir Path dir;

    @Test
    void aTorchFolderThatDoesNotLoadIsOneLine() throws Exception {
        Path model = null;
        for (Path m : new Path[] {Path.of("../models/organism-base"), Path.of("models/organism-base")})
            if (Files.isRegularFile(m.resolve("model.safetensors"))) model = m.toAbsolutePath();
        Assumptions.assumeTrue(model != null, "models/organism-base not found");
        Path lib = Files.createDirectory(dir.resolve("torchlib"));
        Files.writeString(lib.resolve("libtorch.so"), "not a library");
        Path work = Files.createDirectory(dir.resolve("work"));
        Process p = ChildJvm.java(work, Map.of("PYTORCH_LIBRARY_PATH", lib.toString(), "PYTORCH_FLAVOR", "cpu"),
                List.of(), "ctlab.cli.Main", "organism", "eval", "--model", model.toString(), "--limit", "1");
        int rc = ChildJvm.finish(p, work, Duration.ofMinutes(2));
        String out = ChildJvm.output(p, work);
        assertEquals(2, rc, out);
        assertFalse(out.contains("\tat "), "no stack trace:\n" + out);
        List<String> errors = out.lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(1, errors.size(), out);
        assertTrue(errors.get(0).startsWith("error: the PyTorch engine did not start (PYTORCH_LIBRARY_PATH=" + lib + "): "), out);
        assertTrue(errors.get(0).contains("libtorch.so"), out);
    }
}

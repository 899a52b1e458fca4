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

import static org.junit.jupiter.api.Assertions.*;

/**
 * DJL logs INFO lines on every engine start (native library, graph executor, thread counts); the CLI keeps them
 * out of the user's way unless {@code --verbose}. Runs {@code ctlab.cli.Main} in a child JVM because slf4j-simple
 * reads its level once per JVM.
 */
@Tag("slow")
class LibraryLoggingTest {
    @TempDir Path dir;

    @Test
    void djlInfoLinesOnlyUnderVerbose() throws Exception {
        Path model = null;
        for (Path p : new Path[] {Path.of("../models/organism-base"), Path.of("models/organism-base")})
            if (Files.isRegularFile(p.resolve("model.safetensors"))) model = p.toAbsolutePath();
        Assumptions.assumeTrue(model != null, "models/organism-base not found");

        Path quiet = Files.createDirectory(dir.resolve("quiet"));
        String out = run(quiet, "organism", "eval", "--model", model.toString(), "--limit", "1");
        assertTrue(out.contains("greedy accuracy:"), out);
        assertFalse(out.contains("INFO"), "INFO lines without --verbose:\n" + out);
        // one startup line naming the libtorch folder and the device
        List<String> startup = out.lines().filter(l -> l.startsWith("ctlab: PyTorch ")).toList();
        assertEquals(1, startup.size(), out);
        assertTrue(startup.get(0).contains("build, /") && startup.get(0).endsWith("), device cpu"), out);

        Path verbose = Files.createDirectory(dir.resolve("verbose"));
        out = run(verbose, "organism", "eval", "--model", model.toString(), "--limit", "1", "--verbose");
        assertTrue(out.contains("greedy accuracy:"), out);
        assertTrue(out.contains("INFO ai.djl"), "--verbose shows DJL's INFO lines:\n" + out);
    }

    private static String run(Path work, String... args) throws Exception {
        Process p = ChildJvm.ctlab(work, List.of(), args);
        assertEquals(0, ChildJvm.finish(p, work, Duration.ofMinutes(3)), ChildJvm.output(p, work));
        return ChildJvm.output(p, work);
    }
}

package ctlab.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Harness for crash tests: starts a child JVM on the test classpath (so it sees test classes such as
 * {@link FakeStages}), waits for a condition on its output files, and kills it with SIGKILL
 * ({@link Process#destroyForcibly()}) or SIGTERM ({@link Process#destroy()}). Real stages reuse it: run
 * {@code ctlab.cli.Main run CONFIG --run-dir DIR}, kill when their output shows progress, run again, compare.
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** Starts {@code java [jvmArgs] -cp <test classpath> ctlab.cli.Main args...} in {@code workDir}. */
    public static Process ctlab(Path workDir, List<String> jvmArgs, String... args) throws IOException {
        return java(workDir, Map.of(), jvmArgs, "ctlab.cli.Main", args);
    }

    /**
     * Starts {@code java [jvmArgs] -cp <test classpath> mainClass args...} in {@code workDir}, with {@code env}
     * added to this process's environment (e.g. a test's own entry point under other OpenMP settings).
     */
    public static Process java(Path workDir, Map<String, String> env, List<String> jvmArgs, String mainClass,
                               String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx512m");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        Path log = workDir.resolve("child-" + System.nanoTime() + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    /** The child's combined stdout/stderr so far (for failure messages). */
    public static String output(Process p, Path workDir) {
        try (var s = Files.list(workDir)) {
            StringBuilder sb = new StringBuilder();
            for (Path f : s.filter(f -> f.getFileName().toString().startsWith("child-")).sorted().toList()) {
                sb.append("--- ").append(f.getFileName()).append('\n').append(Files.readString(f));
            }
            return sb.toString();
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /** Waits until {@code condition} holds; fails if the child exits first or the timeout passes. */
    public static void await(Process p, Path workDir, Duration timeout, String what, BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (!p.isAlive()) fail("child exited (" + p.exitValue() + ") before " + what + "\n" + output(p, workDir));
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                fail("timed out waiting for " + what + "\n" + output(p, workDir));
            }
            Thread.sleep(5);
        }
    }

    /** SIGKILL: no shutdown hooks, no flushing; the hardest way to stop a run. */
    public static void kill(Process p) throws InterruptedException {
        p.destroyForcibly();
        if (!p.waitFor(30, TimeUnit.SECONDS)) fail("child did not die after SIGKILL");
    }

    /** Waits for the child to exit and returns its exit code. */
    public static int finish(Process p, Path workDir, Duration timeout) throws InterruptedException {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            fail("child did not finish in " + timeout + "\n" + output(p, workDir));
        }
        return p.exitValue();
    }

    /** Number of complete lines (ending in a newline) in a file; 0 when absent. */
    public static int completeLines(Path file) {
        try {
            if (!Files.exists(file)) return 0;
            byte[] b = Files.readAllBytes(file);
            int n = 0;
            for (byte x : b) if (x == '\n') n++;
            return n;
        } catch (IOException e) {
            return 0;
        }
    }
}

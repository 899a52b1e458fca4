package ctlab.cli;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The {@code bin/ctlab} launcher, run on a copy of the repository layout with stand-in {@code mvn} and {@code java}
 * commands that record how they were called: help never builds; a build's output carries no colour codes.
 */
class LauncherTest {
    @TempDir Path dir;
    Path root;

    @BeforeEach
    void layout() throws Exception {
        Path script = Files.isRegularFile(Path.of("../bin/ctlab")) ? Path.of("../bin/ctlab") : Path.of("bin/ctlab");
        root = dir.resolve("repo");
        Files.createDirectories(root.resolve("bin"));
        Files.copy(script, root.resolve("bin/ctlab"));
        for (String src : List.of("toolkit/src/main/A.java", "kernel/src/main/B.java", "pom.xml", "toolkit/pom.xml",
                "kernel/pom.xml")) {
            Files.createDirectories(root.resolve(src).getParent());
            Files.writeString(root.resolve(src), "x");
        }
        Path bin = Files.createDirectories(dir.resolve("fakebin"));
        // mvn: records the call, prints what Maven 3.8 prints under -B -q (colour resets), builds the jars.
        script(bin.resolve("mvn"), "echo \"mvn $*\" >> '" + dir.resolve("calls") + "'\n"
                + "printf '\\033[0m\\033[0m'\n"
                + "for m in toolkit kernel; do mkdir -p $m/target/lib; touch $m/target/ctlab-$m-0.1.0-SNAPSHOT.jar; done\n");
        script(bin.resolve("java"), "echo \"java $*\" >> '" + dir.resolve("calls") + "'\necho ran java\n");
    }

    private static void script(Path p, String body) throws Exception {
        Files.writeString(p, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** Jars that exist but are older than the sources (a rebuild would be due for a real command). */
    private void staleJars() throws Exception {
        for (String m : List.of("toolkit", "kernel")) {
            Path jar = root.resolve(m + "/target/ctlab-" + m + "-0.1.0-SNAPSHOT.jar");
            Files.createDirectories(root.resolve(m + "/target/lib"));
            Files.writeString(jar, "jar");
            Files.setLastModifiedTime(jar, FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
        }
    }

    private record Result(int rc, String out, List<String> calls) {}

    private Result ctlab(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", root.resolve("bin/ctlab").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(dir.toFile());
        pb.environment().put("PATH", dir.resolve("fakebin") + ":" + System.getenv("PATH"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        Path calls = dir.resolve("calls");
        List<String> c = Files.exists(calls) ? Files.readAllLines(calls) : List.of();
        Files.deleteIfExists(calls);
        return new Result(p.exitValue(), out, c);
    }

    @Test
    void helpRunsTheExistingJarsWithoutBuilding() throws Exception {
        staleJars();
        for (String[] args : new String[][] {{"kernel", "install", "--help"}, {"kernel", "--help"},
                {"organism", "eval", "--help"}, {"--help"}, {"help", "run"}, {"--version"}}) {
            Result r = ctlab(args);
            String what = String.join(" ", args) + ": " + r;
            assertEquals(0, r.rc(), what);
            assertTrue(r.calls().stream().noneMatch(c -> c.startsWith("mvn")), what);
            assertEquals(1, r.calls().size(), what);
            boolean kernel = args[0].equals("kernel");
            String passed = String.join(" ", kernel ? List.of(args).subList(1, args.length) : List.of(args));
            assertTrue(r.calls().get(0).startsWith("java ") && r.calls().get(0).endsWith(
                    (kernel ? "ctlab.kernel.KernelInstaller " : "ctlab.cli.Main ") + passed), what);
        }
    }

    @Test
    void helpWithNothingBuiltSaysHowToBuildAndBuildsNothing() throws Exception {
        Result r = ctlab("kernel", "install", "--help");
        assertEquals(2, r.rc(), r.toString());
        assertEquals(List.of(), r.calls());
        assertTrue(r.out().contains("mvn") && r.out().strip().lines().count() == 1, r.out());
    }

    @Test
    void aRealCommandRebuildsStaleJarsAndPrintsNoEscapeCodes() throws Exception {
        for (String[] args : new String[][] {{"kernel", "install", "--user"}, {"organism", "eval"}}) {
            staleJars();
            Result r = ctlab(args);
            String what = String.join(" ", args) + ": " + r;
            assertEquals(0, r.rc(), what);
            assertEquals(2, r.calls().size(), what);
            assertTrue(r.calls().get(0).startsWith("mvn ") && r.calls().get(1).startsWith("java "), what);
            assertFalse(r.out().contains("\033"), "raw escape codes: " + what);
            assertTrue(r.out().contains("ran java"), what);
        }
    }
}

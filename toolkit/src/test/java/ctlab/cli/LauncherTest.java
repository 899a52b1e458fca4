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
import java.util.Map;
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
        Files.createDirectories(root.resolve("tools/gpu"));
        Files.copy(script.resolveSibling("../tools/gpu/torch-env.sh"), root.resolve("tools/gpu/torch-env.sh"));
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
        script(bin.resolve("java"), "echo \"java $*\" >> '" + dir.resolve("calls") + "'\necho ran java\n"
                + "env | grep -E '^(PYTORCH|CTLAB)_' | sort > '" + dir.resolve("env") + "'\n");
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

    private Result ctlab(String... args) throws Exception { return ctlab(Map.of(), args); }

    private Result ctlab(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", root.resolve("bin/ctlab").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(dir.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PYTORCH_") || k.startsWith("CTLAB_"));
        pb.environment().put("CTLAB_CACHE", dir.resolve("cache").toString());
        pb.environment().putAll(env);
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

    /** Built jars newer than the sources, a pom naming the PyTorch version, and the native jars in target/lib. */
    private void builtWithPom() throws Exception {
        Files.writeString(root.resolve("pom.xml"), "<properties><pytorch.version>2.7.1</pytorch.version></properties>\n");
        for (String src : List.of("toolkit/src/main/A.java", "pom.xml", "toolkit/pom.xml"))
            Files.setLastModifiedTime(root.resolve(src), FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
        Path lib = Files.createDirectories(root.resolve("toolkit/target/lib"));
        for (String jar : List.of("pytorch-engine-0.36.0.jar", "pytorch-jni-2.7.1-0.36.0.jar",
                "pytorch-native-cpu-2.7.1-linux-x86_64.jar", "picocli-4.7.6.jar"))
            Files.writeString(lib.resolve(jar), "jar");
        Files.writeString(root.resolve("toolkit/target/ctlab-toolkit-0.1.0-SNAPSHOT.jar"), "jar");
    }

    /** A pip-style torch package: version.py and lib/ with the given libraries (empty files). */
    private Path fakeTorch(String version, String... libs) throws Exception {
        Path torch = Files.createDirectories(dir.resolve("venv/lib/python3.11/site-packages/torch/lib")).getParent();
        Files.writeString(torch.resolve("version.py"), "from typing import Optional\n__version__ = '" + version + "'\n");
        for (String l : libs) Files.writeString(torch.resolve("lib").resolve(l), "");
        return torch;
    }

    private Map<String, String> javaEnv() throws Exception {
        Map<String, String> m = new java.util.TreeMap<>();
        for (String l : Files.readAllLines(dir.resolve("env"))) m.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1));
        return m;
    }

    private static final String[] CPU_LIBS = {"libc10.so", "libtorch.so", "libtorch_cpu.so", "libtorch_global_deps.so",
            "libgomp.so.1", "libshm.so", "libtorch_python.so"};

    @Test
    void torchFolderPointsDjlAtLinksToItsCpuLibrariesOnly() throws Exception {
        builtWithPom();
        Path torch = fakeTorch("2.7.1+cpu", CPU_LIBS);
        // a venv prefix, the torch package and its lib/ folder all work; so does CTLAB_TORCH
        for (Map.Entry<Map<String, String>, String[]> run : List.of(
                Map.entry(Map.<String, String>of(), new String[] {"--torch", dir.resolve("venv").toString(), "organism", "eval"}),
                Map.entry(Map.<String, String>of(), new String[] {"--torch=" + torch.resolve("lib"), "organism", "eval"}),
                Map.entry(Map.of("CTLAB_TORCH", torch.toString()), new String[] {"organism", "eval"}))) {
            Result r = ctlab(run.getKey(), run.getValue());
            assertEquals(0, r.rc(), r.toString());
            assertEquals(1, r.calls().size(), r.toString());
            assertTrue(r.calls().get(0).endsWith("ctlab.cli.Main organism eval"), r.toString());
            Map<String, String> env = javaEnv();
            assertEquals("2.7.1", env.get("PYTORCH_VERSION"), env.toString());
            assertEquals("cpu", env.get("PYTORCH_FLAVOR"), env.toString());
            assertEquals(torch.resolve("lib").toRealPath() + " (2.7.1+cpu)", env.get("CTLAB_TORCH_SOURCE"), env.toString());
            Path links = Path.of(env.get("PYTORCH_LIBRARY_PATH"));
            assertTrue(links.startsWith(dir.resolve("cache")), env.toString());
            List<String> names;
            try (var s = Files.list(links)) { names = s.map(p -> p.getFileName().toString()).sorted().toList(); }
            assertEquals(List.of("libc10.so", "libgomp.so.1", "libtorch.so", "libtorch_cpu.so", "libtorch_global_deps.so"), names);
            for (String n : names) assertEquals(torch.resolve("lib").resolve(n).toRealPath(), links.resolve(n).toRealPath());
            assertFalse(env.containsKey("CTLAB_DEVICE"), env.toString());
        }
    }

    @Test
    void cudaLibrariesAreLinkedOnlyForTheCudaFlavour() throws Exception {
        builtWithPom();
        List<String> libs = new ArrayList<>(List.of(CPU_LIBS));
        libs.addAll(List.of("libc10_cuda.so", "libtorch_cuda.so", "libcaffe2_nvrtc.so"));
        fakeTorch("2.7.1+cu126", libs.toArray(String[]::new));
        Result r = ctlab(Map.of(), "--torch", dir.resolve("venv").toString(), "organism", "eval");
        assertEquals(0, r.rc(), r.toString());
        Map<String, String> env = javaEnv();
        // cu128 only where an NVIDIA driver is present; either way the flavour and the links agree
        boolean cuda = env.get("PYTORCH_FLAVOR").equals("cu128");
        assertTrue(cuda || env.get("PYTORCH_FLAVOR").equals("cpu"), env.toString());
        Path links = Path.of(env.get("PYTORCH_LIBRARY_PATH"));
        assertEquals(cuda, Files.exists(links.resolve("libcaffe2_nvrtc.so")), env.toString());
        assertEquals(cuda, Files.exists(links.resolve("libtorch_cuda.so")), env.toString());
    }

    @Test
    void badTorchFoldersAreOneLineErrorsAndStartNothing() throws Exception {
        builtWithPom();
        Path torch = fakeTorch("2.8.0+cpu", CPU_LIBS);
        Map<String[], String> cases = new java.util.LinkedHashMap<>();
        cases.put(new String[] {"--torch", torch.toString(), "organism", "eval"},
                torch.toRealPath().resolve("version.py") + ": torch 2.8.0+cpu, but this build's PyTorch JNI (DJL) needs torch 2.7.1");
        cases.put(new String[] {"--torch", dir.resolve("nope").toString(), "organism", "eval"},
                "--torch " + dir.resolve("nope") + ": no such folder");
        cases.put(new String[] {"--torch", dir.toString(), "organism", "eval"}, "no libtorch.so in it");
        cases.put(new String[] {"--torch"}, "--torch needs a folder");
        cases.put(new String[] {"--gpu", "--torch", torch.resolve("lib").toString(), "organism", "eval"}, "version.py: torch 2.8.0");
        assertEachIsAOneLineUsageError(cases);
        Files.writeString(torch.resolve("version.py"), "__version__ = '2.7.1'\n");
        Result r = ctlab(Map.of(), "--gpu", "--torch", torch.toString(), "organism", "eval");   // a CPU-only torch
        assertEquals(2, r.rc(), r.toString());
        assertTrue(r.out().contains("has no libtorch_cuda.so"), r.toString());
    }

    /**
     * {@code --torch-jni DIR}: a libdjl_torch.so that tools/gpu/build-jni.sh built for a newer torch is linked into the
     * folder DJL loads (DJL looks there before its jar), the engine is told that torch's version, and the torch must be
     * the version the JNI was built for; every misuse is one line, exit 2, nothing started.
     */
    @Test
    void aJniBuiltForAnotherTorchIsLinkedInAndMustMatchIt() throws Exception {
        builtWithPom();
        Path torch = fakeTorch("2.11.0+cu130", CPU_LIBS);
        Path jni = Files.createDirectories(dir.resolve("jni-2.11.0"));
        Files.writeString(jni.resolve("libdjl_torch.so"), "");
        Files.writeString(jni.resolve("torch-version"), "2.11.0\n");
        for (Result r : List.of(ctlab(Map.of(), "--torch", torch.toString(), "--torch-jni", jni.toString(), "organism", "eval"),
                                ctlab(Map.of("CTLAB_TORCH", torch.toString(), "CTLAB_TORCH_JNI", jni.toString()), "organism", "eval"))) {
            assertEquals(0, r.rc(), r.toString());
            assertTrue(r.calls().get(0).endsWith("ctlab.cli.Main organism eval"), r.toString());
            Map<String, String> env = javaEnv();
            assertEquals("2.11.0", env.get("PYTORCH_VERSION"), env.toString());
            assertEquals("cpu", env.get("PYTORCH_FLAVOR"), env.toString());   // CPU-only fake torch
            Path links = Path.of(env.get("PYTORCH_LIBRARY_PATH"));
            assertEquals(jni.resolve("libdjl_torch.so").toRealPath(), links.resolve("libdjl_torch.so").toRealPath());
            assertEquals(torch.resolve("lib/libtorch_cpu.so").toRealPath(), links.resolve("libtorch_cpu.so").toRealPath());
        }
        // without it, the jar's JNI: the pom's torch version is required, as before
        Result plain = ctlab(Map.of(), "--torch", torch.toString(), "organism", "eval");
        assertEquals(2, plain.rc(), plain.toString());
        assertTrue(plain.out().contains("needs torch 2.7.1"), plain.toString());

        Map<String[], String> cases = new java.util.LinkedHashMap<>();
        cases.put(new String[] {"--torch-jni", jni.toString(), "organism", "eval"}, "--torch-jni needs --torch DIR");
        cases.put(new String[] {"--torch", torch.toString(), "--torch-jni"}, "--torch-jni needs a folder");
        cases.put(new String[] {"--torch", torch.toString(), "--torch-jni", dir.toString(), "organism", "eval"},
                "JNI folder " + dir.toRealPath() + ": no libdjl_torch.so in it");
        assertEachIsAOneLineUsageError(cases);
        Files.writeString(jni.resolve("torch-version"), "2.12.0\n");   // built for another torch
        Result r = ctlab(Map.of(), "--torch", torch.toString(), "--torch-jni", jni.toString(), "organism", "eval");
        assertEquals(2, r.rc(), r.toString());
        assertEquals(List.of(), r.calls(), r.toString());
        assertEquals(1, r.out().strip().lines().count(), r.toString());
        assertTrue(r.out().contains("torch 2.11.0+cu130, but the JNI in " + jni.toRealPath() + " was built for torch 2.12.0"),
                r.toString());
    }

    /** With a CUDA torch and a driver (a stand-in ldconfig lists libcuda.so.1), the flavour names the torch's CUDA. */
    @Test
    void withADriverAJniForACudaTorchGetsItsCudaFlavour() throws Exception {
        builtWithPom();
        script(dir.resolve("fakebin/ldconfig"), "printf '\\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/libcuda.so.1\\n'\n");
        List<String> libs = new ArrayList<>(List.of(CPU_LIBS));
        libs.addAll(List.of("libc10_cuda.so", "libtorch_cuda.so", "libcaffe2_nvrtc.so"));
        Path torch = fakeTorch("2.11.0+cu130", libs.toArray(String[]::new));
        Files.writeString(torch.resolve("version.py"),
                "from typing import Optional\n__version__ = '2.11.0+cu130'\ncuda: Optional[str] = '13.0'\n");
        Path jni = Files.createDirectories(dir.resolve("jni-2.11.0"));
        Files.writeString(jni.resolve("libdjl_torch.so"), "");
        Files.writeString(jni.resolve("torch-version"), "2.11.0\n");
        Result r = ctlab(Map.of(), "--gpu", "--torch", torch.toString(), "--torch-jni", jni.toString(), "organism", "eval");
        assertEquals(0, r.rc(), r.toString());
        Map<String, String> env = javaEnv();
        assertEquals("cu130", env.get("PYTORCH_FLAVOR"), env.toString());
        assertEquals("2.11.0", env.get("PYTORCH_VERSION"), env.toString());
        assertEquals("gpu", env.get("CTLAB_DEVICE"), env.toString());
        Path links = Path.of(env.get("PYTORCH_LIBRARY_PATH"));
        for (String n : List.of("libtorch_cuda.so", "libc10_cuda.so", "libcaffe2_nvrtc.so", "libtorch_cpu.so"))
            assertTrue(Files.exists(links.resolve(n)), n + " not linked: " + env);
        assertEquals(jni.resolve("libdjl_torch.so").toRealPath(), links.resolve("libdjl_torch.so").toRealPath());
        // a driver that only LD_LIBRARY_PATH finds (containers mount it so: no ld cache entry, no /proc entry)
        script(dir.resolve("fakebin/ldconfig"), "exit 0\n");
        Path driver = Files.createDirectories(dir.resolve("usr/local/nvidia/lib64"));
        Files.writeString(driver.resolve("libcuda.so.1"), "");
        r = ctlab(Map.of("LD_LIBRARY_PATH", "/nonexistent:" + driver), "--gpu", "--torch", torch.toString(),
                "--torch-jni", jni.toString(), "organism", "eval");
        assertEquals(0, r.rc(), r.toString());
        assertEquals("cu130", javaEnv().get("PYTORCH_FLAVOR"), r.toString());
        script(dir.resolve("fakebin/ldconfig"), "printf '\\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/libcuda.so.1\\n'\n");
        // the jar's JNI (no --torch-jni) keeps its cu128 flavour with a 2.7.1 CUDA torch
        Files.writeString(torch.resolve("version.py"), "__version__ = '2.7.1+cu126'\ncuda = '12.6'\n");
        r = ctlab(Map.of(), "--gpu", "--torch", torch.toString(), "organism", "eval");
        assertEquals(0, r.rc(), r.toString());
        assertEquals("cu128", javaEnv().get("PYTORCH_FLAVOR"), r.toString());
        assertFalse(Files.exists(Path.of(javaEnv().get("PYTORCH_LIBRARY_PATH")).resolve("libdjl_torch.so")), r.toString());
    }

    @Test
    void gpuLeavesTheBundledCpuNativeOffTheClasspathAndDefaultsTheDevice() throws Exception {
        builtWithPom();
        Result r = ctlab(Map.of(), "--gpu", "organism", "eval");
        assertEquals(0, r.rc(), r.toString());
        String call = r.calls().get(0);
        assertFalse(call.contains("pytorch-native-cpu") || call.contains("lib/*"), call);
        assertTrue(call.contains("pytorch-engine-0.36.0.jar") && call.contains("pytorch-jni-2.7.1-0.36.0.jar")
                && call.contains("picocli-4.7.6.jar"), call);
        assertTrue(call.endsWith("ctlab.cli.Main organism eval"), call);
        assertEquals("gpu", javaEnv().get("CTLAB_DEVICE"));
        assertFalse(javaEnv().containsKey("PYTORCH_LIBRARY_PATH"));

        r = ctlab(Map.of("CTLAB_DEVICE", "gpu:1"), "--gpu", "organism", "eval");
        assertEquals("gpu:1", javaEnv().get("CTLAB_DEVICE"), r.toString());
        r = ctlab(Map.of(), "organism", "eval");                         // without --gpu: the bundled CPU native
        assertTrue(r.calls().get(0).contains("toolkit/target/lib/*"), r.toString());
        assertFalse(javaEnv().containsKey("CTLAB_DEVICE"), r.toString());
    }

    /** Each argument list ends in exit 2 with one line "ctlab: ..." containing the expected text, and starts no java. */
    private void assertEachIsAOneLineUsageError(Map<String[], String> cases) throws Exception {
        for (Map.Entry<String[], String> c : cases.entrySet()) {
            Result r = ctlab(Map.of(), c.getKey());
            String what = String.join(" ", c.getKey()) + ": " + r;
            assertEquals(2, r.rc(), what);
            assertEquals(List.of(), r.calls(), what);
            assertEquals(1, r.out().strip().lines().count(), what);
            assertTrue(r.out().startsWith("ctlab: ") && r.out().contains(c.getValue()), what);
        }
    }
}

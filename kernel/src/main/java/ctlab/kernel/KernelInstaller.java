package ctlab.kernel;

import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * {@code ctlab kernel install [--user | --sys-prefix | --prefix DIR]}: writes the Jupyter kernelspec
 * {@code ctlab} ("Java (ctlab)").
 *
 * <p>The kernel's jars are copied into the kernelspec folder ({@code lib/}) and the launcher finds them
 * through {@code {resource_dir}}, so the installed kernel survives {@code mvn clean} and later rebuilds
 * (re-run install to update it). The launcher runs the Java that ran the installer (override with
 * {@code CTLAB_JAVA}) with {@code CTLAB_JVM_OPTS} (default {@code -Xmx8g}).
 */
@Command(name = "kernel", mixinStandardHelpOptions = true, description = "Jupyter kernel commands.",
        subcommands = {KernelInstaller.Install.class})
public final class KernelInstaller implements Runnable {
    public static final String NAME = "ctlab";
    public static final String DISPLAY_NAME = "Java (ctlab)";

    @Override public void run() { CommandLine.usage(this, System.out); }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new KernelInstaller());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            if (ex instanceof CtlabException) {
                line.getErr().println("error: " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        System.exit(cl.execute(args));
    }

    @Command(name = "install", mixinStandardHelpOptions = true,
            description = "Install the kernelspec '" + NAME + "' (default: --user).")
    static final class Install implements Runnable {
        @CommandLine.ArgGroup(exclusive = true)
        Where where;

        static final class Where {
            @Option(names = "--user", description = "~/.local/share/jupyter (the default)") boolean user;
            @Option(names = "--sys-prefix", description = "the active Python environment ($VIRTUAL_ENV / $CONDA_PREFIX or python3's sys.prefix)") boolean sysPrefix;
            @Option(names = "--prefix", paramLabel = "DIR", description = "DIR/share/jupyter/kernels") Path prefix;
        }

        @Override public void run() {
            Path kernels = kernelsDir(where);
            Path dir = install(kernels, jarsOfThisJvm(), Path.of(System.getProperty("java.home"), "bin", "java"));
            System.out.println("Installed kernelspec " + NAME + " (\"" + DISPLAY_NAME + "\") in " + dir);
        }
    }

    static Path kernelsDir(Install.Where where) {
        if (where != null && where.prefix != null) return where.prefix.resolve("share/jupyter/kernels");
        if (where != null && where.sysPrefix) return sysPrefix().resolve("share/jupyter/kernels");
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        Path home = Path.of(System.getProperty("user.home"));
        if (os.contains("mac")) return home.resolve("Library/Jupyter/kernels");
        String xdg = System.getenv("XDG_DATA_HOME");
        return (xdg != null && !xdg.isBlank() ? Path.of(xdg) : home.resolve(".local/share")).resolve("jupyter/kernels");
    }

    private static Path sysPrefix() {
        for (String env : new String[]{"VIRTUAL_ENV", "CONDA_PREFIX"}) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) return Path.of(v);
        }
        try {
            Process p = new ProcessBuilder("python3", "-c", "import sys; print(sys.prefix)").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (p.waitFor() == 0 && !out.isEmpty()) return Path.of(out);
        } catch (IOException e) {
            // fall through
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new CtlabException("--sys-prefix: no VIRTUAL_ENV/CONDA_PREFIX and python3 not found; use --prefix DIR");
    }

    /** The jars this JVM runs with (the kernel jar and its dependencies). */
    static List<Path> jarsOfThisJvm() {
        List<Path> jars = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (e.isBlank()) continue;
            Path p = Path.of(e);
            if (!e.endsWith(".jar") || !Files.isRegularFile(p))
                throw new CtlabException("kernel install: classpath entry " + e + " is not a jar; run it through bin/ctlab"
                        + " (which builds kernel/target/*.jar and kernel/target/lib)");
            jars.add(p);
        }
        if (jars.stream().noneMatch(j -> j.getFileName().toString().startsWith("ctlab-kernel")))
            throw new CtlabException("kernel install: the ctlab-kernel jar is not on the classpath");
        return jars;
    }

    /**
     * Writes {@code kernels/ctlab} with {@code kernel.json}, {@code kernel.sh} and {@code lib/}; built in a
     * temporary sibling folder and swapped in, so a failed install leaves the old kernelspec working.
     */
    static Path install(Path kernels, List<Path> jars, Path java) {
        Path target = kernels.resolve(NAME);
        try {
            Files.createDirectories(kernels);
            Path tmp = AtomicFiles.createTempDirectory(kernels, "." + NAME + "-install-");
            Path lib = Files.createDirectories(tmp.resolve("lib"));
            for (Path jar : jars) Files.copy(jar, lib.resolve(jar.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            AtomicFiles.writeString(tmp.resolve("kernel.sh"), launcher(java));
            Files.setPosixFilePermissions(tmp.resolve("kernel.sh"), EnumSet.of(PosixFilePermission.OWNER_READ,
                    PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_READ,
                    PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE));
            AtomicFiles.writeString(tmp.resolve("kernel.json"), kernelJson());
            Path old = null;
            if (Files.exists(target)) {
                old = kernels.resolve("." + NAME + "-old-" + System.nanoTime());
                Files.move(target, old);
            }
            Files.move(tmp, target);
            if (old != null) deleteTree(old);
            return target;
        } catch (IOException e) {
            throw new CtlabException("kernel install: cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    static String kernelJson() {
        return """
                {
                  "argv": ["/bin/sh", "{resource_dir}/kernel.sh", "{connection_file}"],
                  "display_name": "%s",
                  "language": "java",
                  "interrupt_mode": "message",
                  "metadata": {"debugger": false}
                }
                """.formatted(DISPLAY_NAME);
    }

    static String launcher(Path java) {
        return """
                #!/bin/sh
                # ctlab Jupyter kernel launcher, written by `ctlab kernel install`.
                # CTLAB_JVM_OPTS: JVM options (default -Xmx8g); CTLAB_JAVA: the java to run.
                DIR=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
                JAVA="${CTLAB_JAVA:-%s}"
                exec "$JAVA" ${CTLAB_JVM_OPTS:--Xmx8g} -Djava.awt.headless=true -Xshare:auto -Djava.security.manager=allow \\
                  --add-opens=jdk.jshell/jdk.jshell=ALL-UNNAMED \\
                  -cp "$DIR/lib/*" ctlab.kernel.KernelMain "$@"
                """.formatted(java.toAbsolutePath());
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}

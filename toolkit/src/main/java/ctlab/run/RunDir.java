package ctlab.run;

import ctlab.CtlabException;
import ctlab.io.AtomicFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A run directory (layout in ARCHITECTURE.md): {@code config.yaml} (the resolved config), {@code log.txt}
 * (the whole run's log), and one folder {@code NN-stage/} per stage with its outputs, {@code metrics.jsonl},
 * its own {@code log.txt}, {@code STARTED} and, written last, {@code DONE} ({@link StageMarker}).
 * Readers (notebooks, analysis) use this class to find a stage's files without knowing the numbering.
 */
public final class RunDir {
    public static final String CONFIG = "config.yaml";
    public static final String LOG = "log.txt";
    public static final String METRICS = "metrics.jsonl";
    static final String LOCK = ".lock";
    static final String HASH_CACHE = ".hashes.json";

    private final Path root;
    private final Consumer<String> console;

    public RunDir(Path root) { this(root, null); }

    /** {@code console} (nullable) also receives every log line, e.g. {@code System.err::println}. */
    public RunDir(Path root, Consumer<String> console) {
        this.root = root;
        this.console = console;
    }

    public Path root() { return root; }

    /** Folder name of the stage at 0-based {@code index} in its pipeline: {@code 01-sample}. */
    public static String folderName(int index, String stageName) {
        return String.format("%02d-%s", index + 1, stageName);
    }

    /** The folder of stage {@code name} in this run (whatever its number), if it exists. */
    public Optional<Path> stageDir(String name) {
        if (!Files.isDirectory(root)) return Optional.empty();
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(Files::isDirectory)
                    .filter(p -> p.getFileName().toString().matches("\\d{2,}-" + java.util.regex.Pattern.quote(name)))
                    .findFirst();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The DONE marker of stage {@code name}, if it finished. */
    public Optional<StageMarker> done(String name) {
        return stageDir(name).flatMap(d -> StageMarker.read(d.resolve(StageMarker.DONE)));
    }

    /** The resolved config of the latest invocation. */
    public RunConfig config() {
        Path f = root.resolve(CONFIG);
        if (!Files.exists(f)) throw new CtlabException(root + ": not a run directory (no " + CONFIG + ")");
        return RunConfig.load(f, List.of());
    }

    void writeConfig(RunConfig config) { AtomicFiles.writeString(root.resolve(CONFIG), config.toYaml()); }

    /** Appends a timestamped line to the run log, and to {@code stageDir}'s log when given. */
    public void log(Path stageDir, String stageName, String message) {
        String line = Instant.now().truncatedTo(ChronoUnit.MILLIS) + (stageName == null ? " " : " [" + stageName + "] ")
                + message + "\n";
        appendLine(root.resolve(LOG), line);
        if (stageDir != null) appendLine(stageDir.resolve(LOG), line);
        if (console != null) console.accept((stageName == null ? "" : "[" + stageName + "] ") + message);
    }

    private static void appendLine(Path file, String line) {
        // NIO file channels close themselves when the writing thread is interrupted; the log must still get
        // its "interrupted" line, so the flag is cleared for the write and restored afterwards.
        boolean interrupted = Thread.interrupted();
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + file, e);
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /**
     * Takes the run directory's lock so two processes never write one run; the OS releases it when the
     * process dies, even by SIGKILL. Another holder is a CtlabException.
     */
    AutoCloseable lock() {
        checkUsable();
        try {
            Files.createDirectories(root);
            java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(root.resolve(LOCK),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            java.nio.channels.FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (java.nio.channels.OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                ch.close();
                throw new CtlabException(root + ": the run directory is in use by another ctlab run; wait for it or use another --run-dir");
            }
            return ch::close;              // closing the channel releases the lock (also after an interrupt closed it)
        } catch (IOException e) {
            throw new UncheckedIOException("locking " + root, e);
        }
    }

    /**
     * Refuses a run directory that is a file, or a folder with a {@code config.yaml} that no ctlab run wrote (no
     * log, no lock): writing there would replace someone else's config.
     */
    private void checkUsable() {
        if (Files.exists(root) && !Files.isDirectory(root)) {
            throw new CtlabException(root + ": not a directory (a run directory is a folder; choose another --run-dir)");
        }
        if (Files.exists(root.resolve(CONFIG)) && !Files.exists(root.resolve(LOG)) && !Files.exists(root.resolve(LOCK))) {
            throw new CtlabException(root + ": not a ctlab run directory (its " + CONFIG + " was not written by a run);"
                    + " choose another --run-dir");
        }
    }

    /**
     * Moves a finished stage folder aside for {@code --force} (to the hidden {@code .NN-stage.forced}), so that a
     * failed attempt can put it back. When an aside copy is already there, an earlier forced attempt was killed:
     * the copy is the finished folder and {@code dir} holds that attempt's partial files, which are dropped.
     */
    Path moveAside(Path dir) {
        checkStageDir(dir);
        Path aside = dir.resolveSibling("." + dir.getFileName() + ".forced");
        if (Files.exists(aside)) {
            deleteTree(dir);
            return aside;
        }
        try {
            Files.move(dir, aside);
        } catch (IOException e) {
            throw new UncheckedIOException("moving " + dir + " aside", e);
        }
        return aside;
    }

    /** Puts a folder moved aside back in place of a failed attempt's {@code dir}. */
    void restoreAside(Path aside, Path dir) {
        deleteTree(dir);
        try {
            Files.move(aside, dir);
        } catch (IOException e) {
            throw new UncheckedIOException("restoring " + dir + " from " + aside, e);
        }
    }

    /** Drops the folder moved aside once the forced attempt finished. */
    void deleteAside(Path aside) { deleteTree(aside); }

    private void checkStageDir(Path dir) {
        if (!dir.getParent().equals(root) || !dir.getFileName().toString().matches("\\d{2,}-[a-z0-9-]+")) {
            throw new IllegalArgumentException("not a stage folder of " + root + ": " + dir);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException("deleting " + dir, e);
        }
    }
}

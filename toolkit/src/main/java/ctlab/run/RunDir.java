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

    /** Deletes a stage folder (for {@code --force}); refuses anything that is not a stage folder of this run. */
    void deleteStageDir(Path dir) {
        if (!dir.getParent().equals(root) || !dir.getFileName().toString().matches("\\d{2,}-[a-z0-9-]+")) {
            throw new IllegalArgumentException("not a stage folder of " + root + ": " + dir);
        }
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException("deleting " + dir, e);
        }
    }
}

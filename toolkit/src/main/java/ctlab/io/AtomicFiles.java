package ctlab.io;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ThreadLocalRandom;

/** Whole-file writes that never leave a half-written file: write a sibling temp file, then rename. */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writer body that fills the stream; the stream is closed by {@link #write}. */
    @FunctionalInterface
    public interface Body { void writeTo(OutputStream out) throws IOException; }

    public static void write(Path target, Body body) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        try {
            Files.createDirectories(dir);
            Path tmp = createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
            try {
                // FileOutputStream rather than an NIO channel, which an interrupt of this thread would close.
                try (OutputStream out = new java.io.FileOutputStream(tmp.toFile())) { body.writeTo(out); }
                move(tmp, abs);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + target, e);
        }
    }

    public static void writeString(Path target, String text) {
        write(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * A new empty file {@code dir/prefix<random>suffix}, created like {@link Files#createFile}: its permissions come
     * from the process umask (0644 under umask 022). {@link Files#createTempFile} makes 0600 files, which the
     * rename would then carry to the finished file (report.html, config.yaml, DONE, ...).
     */
    public static Path createTempFile(Path dir, String prefix, String suffix) throws IOException {
        while (true) {
            try {
                return Files.createFile(dir.resolve(prefix + randomName() + suffix));
            } catch (FileAlreadyExistsException e) {
                // taken: draw another name
            }
        }
    }

    /** A new empty folder {@code dir/prefix<random>}, with umask permissions (not createTempDirectory's 0700). */
    public static Path createTempDirectory(Path dir, String prefix) throws IOException {
        while (true) {
            try {
                return Files.createDirectory(dir.resolve(prefix + randomName()));
            } catch (FileAlreadyExistsException e) {
                // taken: draw another name
            }
        }
    }

    private static String randomName() {
        return Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
    }

    /** Atomically replaces {@code target} with the finished directory or file {@code tmp}. */
    public static void move(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}

package ctlab.task;

import ctlab.CtlabException;
import ctlab.io.AtomicFiles;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Downloads the public data files and checks their sha256 before they appear under their final name: bytes
 * go to a hidden temp file beside the target, size and sha256 are checked, then the temp file is renamed;
 * on any failure the temp file is deleted and nothing is left behind. Works for {@code https://} and for
 * {@code file://} mirrors.
 */
public final class DataFetcher {
    public enum Status { DOWNLOADED, ALREADY_PRESENT }

    public record Result(DataFile file, Path path, Status status, String source) {}

    private static final int CONNECT_TIMEOUT_MS = 30_000;
    private static final int READ_TIMEOUT_MS = 120_000;

    private DataFetcher() {}

    /**
     * Puts {@code file} at {@code dataDir/<relative path>}. Sources: {@code mirror + relative path} when a
     * mirror base URL is given, else the file's public URLs (tried in order). An existing file with the right
     * sha256 is kept; one with other content is an error unless {@code force}.
     */
    public static Result fetch(DataFile file, Path dataDir, String mirror, boolean force) {
        Path target = dataDir.resolve(file.relativePath());
        if (Files.isRegularFile(target)) {
            String have = sha256(target);
            if (have.equals(file.sha256())) return new Result(file, target, Status.ALREADY_PRESENT, null);
            if (!force) {
                throw new CtlabException(target + ": exists with different content (sha256 " + have + ", expected "
                        + file.sha256() + "); use --force to replace it");
            }
        }
        List<String> sources = mirror == null ? file.urls()
                : List.of((mirror.endsWith("/") ? mirror : mirror + "/") + file.relativePath());
        List<String> failures = new ArrayList<>();
        for (String source : sources) {
            try {
                download(URI.create(source), target, file.sha256(), file.size());
                return new Result(file, target, Status.DOWNLOADED, source);
            } catch (CtlabException e) {
                failures.add(e.getMessage());
            }
        }
        throw new CtlabException("could not fetch " + file.key() + " (nothing written): " + String.join("; ", failures));
    }

    /**
     * Downloads {@code source} to {@code target} if its sha256 (and size, when {@code expectedSize} ≥ 0) match;
     * otherwise throws and leaves {@code target} untouched.
     */
    public static void download(URI source, Path target, String expectedSha256, long expectedSize) {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = AtomicFiles.createTempFile(dir, "." + target.getFileName() + ".", ".part");
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            long bytes = 0;
            URLConnection conn = source.toURL().openConnection();
            conn.setConnectTimeout(CONNECT_TIMEOUT_MS);
            conn.setReadTimeout(READ_TIMEOUT_MS);
            try (InputStream in = conn.getInputStream();
                 OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), sha)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    bytes += n;
                    if (expectedSize >= 0 && bytes > expectedSize) {
                        throw new CtlabException(source + ": larger than the expected " + expectedSize + " bytes");
                    }
                    out.write(buf, 0, n);
                }
            }
            String got = HexFormat.of().formatHex(sha.digest());
            if (expectedSize >= 0 && bytes != expectedSize) {
                throw new CtlabException(source + ": size " + bytes + " bytes, expected " + expectedSize);
            }
            if (!got.equalsIgnoreCase(expectedSha256)) {
                throw new CtlabException(source + ": sha256 mismatch (got " + got + ", expected " + expectedSha256 + ")");
            }
            AtomicFiles.move(tmp, target);
        } catch (IOException e) {
            throw new CtlabException(source + ": download failed (" + e + ")", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } finally {
            if (tmp != null) {
                try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* best effort */ }
            }
        }
    }

    /** Hex sha256 of a file. */
    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) sha.update(buf, 0, n);
            return HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

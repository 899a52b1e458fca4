package ctlab.run;

import ctlab.CtlabException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * SHA-256 of bytes, files and folders. A folder's hash covers its files' relative paths and contents (in
 * sorted order), so a model folder hashes the same wherever it lies. File hashes are memoised per process
 * by (path, size, modification time) because large model files are read by several stages.
 */
public final class Hashes {
    private record Key(Path path, long size, long modified) {}
    private static final Map<Key, String> MEMO = new ConcurrentHashMap<>();

    private Hashes() {}

    public static String sha256(byte[] bytes) { return HexFormat.of().formatHex(digest().digest(bytes)); }

    /** Hash of a file or folder; a missing path is a CtlabException naming it. */
    public static String of(Path path) {
        if (!Files.exists(path)) throw new CtlabException(path + ": not found");
        return Files.isDirectory(path) ? ofDirectory(path) : ofFile(path);
    }

    private static String ofFile(Path file) {
        try {
            Path abs = file.toAbsolutePath().normalize();
            Key key = new Key(abs, Files.size(abs), Files.getLastModifiedTime(abs).toMillis());
            String memo = MEMO.get(key);
            if (memo != null) return memo;
            MessageDigest md = digest();
            byte[] buf = new byte[1 << 20];
            try (InputStream in = Files.newInputStream(abs)) {
                for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            }
            String hex = HexFormat.of().formatHex(md.digest());
            MEMO.put(key, hex);
            return hex;
        } catch (IOException e) {
            throw new UncheckedIOException("hashing " + file, e);
        }
    }

    private static String ofDirectory(Path dir) {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().startsWith("."))   // temp files of atomic writes
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
        StringBuilder sb = new StringBuilder();
        for (Path f : files) {
            sb.append(dir.relativize(f).toString().replace('\\', '/')).append('\0').append(ofFile(f)).append('\n');
        }
        return sha256(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

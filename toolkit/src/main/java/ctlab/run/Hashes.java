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
 * sorted order), so a model folder hashes the same wherever it lies. File hashes are memoised by (path,
 * size, modification time, inode), per process and across runs through a run directory's cache file (as make and
 * DVC do), because a 7B model's 15 GB would otherwise be re-read on every invocation.
 */
public final class Hashes {
    private record Key(Path path, long size, long modified, String fileKey) {}
    private static final Map<Key, String> MEMO = new ConcurrentHashMap<>();

    private Hashes() {}

    /** Adds the memo entries saved in {@code cacheFile} (if any; a damaged cache is ignored). */
    public static void loadCache(Path cacheFile) {
        if (!Files.exists(cacheFile)) return;
        try {
            for (com.fasterxml.jackson.databind.JsonNode e : ctlab.io.Jsonl.MAPPER.readTree(cacheFile.toFile())) {
                MEMO.put(new Key(Path.of(e.get("path").asText()), e.get("size").asLong(), e.get("modified").asLong(),
                                e.get("file_key").asText()),
                        e.get("sha256").asText());
            }
        } catch (IOException | RuntimeException ignored) {
            // only a speed-up: a bad cache means hashing again
        }
    }

    /** Saves the memo entries whose files still exist to {@code cacheFile}. */
    public static void saveCache(Path cacheFile) {
        var list = ctlab.io.Jsonl.MAPPER.createArrayNode();
        MEMO.entrySet().stream().sorted(java.util.Map.Entry.comparingByKey(
                java.util.Comparator.comparing((Key k) -> k.path().toString()))).forEach(e -> {
                    if (Files.exists(e.getKey().path())) {
                        list.addObject().put("path", e.getKey().path().toString()).put("size", e.getKey().size())
                                .put("modified", e.getKey().modified()).put("file_key", e.getKey().fileKey())
                                .put("sha256", e.getValue());
                    }
                });
        ctlab.io.AtomicFiles.writeString(cacheFile, list.toPrettyString() + "\n");
    }

    public static String sha256(byte[] bytes) { return HexFormat.of().formatHex(digest().digest(bytes)); }

    /** Hash of a file or folder; a missing path is a CtlabException naming it. */
    public static String of(Path path) {
        if (!Files.exists(path)) throw new CtlabException(path + ": not found");
        return Files.isDirectory(path) ? ofDirectory(path) : ofFile(path);
    }

    private static String ofFile(Path file) {
        try {
            Path abs = file.toAbsolutePath().normalize();
            var attrs = Files.readAttributes(abs, java.nio.file.attribute.BasicFileAttributes.class);
            // (size, mtime in ns, inode): an atomic rewrite gets a new inode even within one clock tick
            Key key = new Key(abs, attrs.size(), attrs.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS),
                    String.valueOf(attrs.fileKey()));
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

    /** Names of the files besides {@code *.safetensors} that a model folder's model is made of. */
    private static final java.util.Set<String> MODEL_FILES = java.util.Set.of("config.json", "generation_config.json",
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json",
            "merges.txt", "tokenizer.model");

    /**
     * The files of model folder {@code dir} that the model is made of, sorted: config, weights ({@code *.safetensors}
     * and their index) and tokenizer files; documentation (README.md), evaluation notes and the like are left out,
     * so editing them does not count as a different model. A folder without {@code config.json} is a CtlabException.
     */
    public static List<Path> modelFiles(Path dir) {
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new CtlabException(dir + ": not a model folder (no config.json)");
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString();
                return MODEL_FILES.contains(n) || n.endsWith(".safetensors") || n.endsWith(".safetensors.index.json");
            }).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
    }

    /**
     * Hash of model folder {@code dir} over its {@link #modelFiles} only (the same encoding as a folder's hash, so a
     * folder holding nothing else hashes as {@link #of} does).
     */
    public static String ofModel(Path dir) { return ofFiles(dir, modelFiles(dir)); }

    private static String ofDirectory(Path dir) {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile)
                    .filter(p -> !p.getFileName().toString().startsWith("."))   // temp files of atomic writes
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
        return ofFiles(dir, files);
    }

    private static String ofFiles(Path dir, List<Path> files) {
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

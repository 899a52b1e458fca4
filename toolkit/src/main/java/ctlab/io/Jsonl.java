package ctlab.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * JSON Lines reading and writing shared by every stage. Reading is strict UTF-8 and reports the file and
 * 1-based line number of anything malformed; appends are one flushed line per record so an interrupted
 * stage loses at most the record being written (and {@link #readLenient} drops a torn last line).
 */
public final class Jsonl {
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true);

    private Jsonl() {}

    /** One parsed line with its position, for error messages. */
    public record Line(Path file, int lineNumber, JsonNode json) {
        public String where() { return file + ":" + lineNumber; }

        /** Required text field, or a CtlabException naming file, line and field. */
        public String text(String field) {
            JsonNode v = json.get(field);
            if (v == null || v.isNull()) throw new CtlabException(where() + ": missing field '" + field + "'");
            if (!v.isTextual()) throw new CtlabException(where() + ": field '" + field + "' must be a string");
            return v.asText();
        }
    }

    /** Callback for lines that fail to parse; lenient readers collect these instead of stopping. */
    public record BadLine(Path file, int lineNumber, String message) {
        public String where() { return file + ":" + lineNumber; }
    }

    /** Reads the whole file strictly: the first malformed line throws with file and line number. */
    public static List<Line> read(Path file) {
        List<Line> out = new ArrayList<>();
        forEach(file, out::add, bad -> { throw new CtlabException(bad.where() + ": " + bad.message()); });
        return out;
    }

    /** Streams lines; malformed ones go to {@code onBad} and reading continues. Blank lines are skipped. */
    public static void forEach(Path file, Consumer<Line> onLine, Consumer<BadLine> onBad) {
        String text = readUtf8(file);
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String raw = lines[i];
            if (raw.endsWith("\r")) raw = raw.substring(0, raw.length() - 1);
            if (raw.isBlank()) continue;
            JsonNode node;
            try {
                node = MAPPER.readTree(raw);
            } catch (JsonProcessingException e) {
                onBad.accept(new BadLine(file, i + 1, "not valid JSON (" + e.getOriginalMessage() + ")"));
                continue;
            }
            if (!(node instanceof ObjectNode)) {
                onBad.accept(new BadLine(file, i + 1, "expected a JSON object, got " + node.getNodeType()));
                continue;
            }
            onLine.accept(new Line(file, i + 1, node));
        }
    }

    /**
     * Reads records written by {@link Appender}, dropping a torn final line (a crash mid-append) instead of
     * failing; any other malformed line is still an error.
     */
    public static List<Line> readLenient(Path file) {
        if (!Files.exists(file)) return new ArrayList<>();
        String text = readUtf8(file);
        boolean torn = !text.isEmpty() && !text.endsWith("\n");
        List<Line> out = new ArrayList<>();
        int lastLine = text.split("\n", -1).length;
        forEach(file, out::add, bad -> {
            if (!(torn && bad.lineNumber() == lastLine)) throw new CtlabException(bad.where() + ": " + bad.message());
        });
        return out;
    }

    /** Strict UTF-8 decoding; a file that is not UTF-8 is a CtlabException naming it. */
    public static String readUtf8(Path file) {
        if (Files.isDirectory(file)) throw new CtlabException(file + ": is a directory, not a file");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CtlabException(file + ": file not found");
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CtlabException(file + ": not valid UTF-8 text");
        }
    }

    /**
     * Strict binding of records: an unknown field, a null where a number or boolean belongs, or the record's own
     * validation (its constructor checks required fields) failing is an error. One reader for every run file.
     */
    private static final com.fasterxml.jackson.databind.ObjectReader STRICT = MAPPER.reader()
            .with(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** Reads a whole file of {@code type} records strictly; errors name file:line and the field, on one line. */
    public static <T> List<T> read(Path file, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (Line line : read(file)) out.add(bind(line, type));
        return out;
    }

    /** {@link #read(Path, Class)} for files written by an {@link Appender}: a torn last line is dropped. */
    public static <T> List<T> readLenient(Path file, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (Line line : readLenient(file)) out.add(bind(line, type));
        return out;
    }

    /** One line as a {@code type} record, or a CtlabException "file:line: field 'f': why". */
    public static <T> T bind(Line line, Class<T> type) {
        try {
            return STRICT.treeToValue(line.json(), type);
        } catch (JsonProcessingException | RuntimeException e) {
            String field = e instanceof com.fasterxml.jackson.databind.JsonMappingException m ? path(m) : "";
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            // records check required fields with Objects.requireNonNull(value, "json_name")
            String why = root instanceof NullPointerException && root.getMessage() != null
                    && root.getMessage().matches("[a-z_]+") ? "missing field '" + root.getMessage() + "'" : rootMessage(e);
            throw new CtlabException(line.where() + ": not a " + type.getSimpleName() + " record ("
                    + (field.isEmpty() ? "" : "field '" + field + "': ") + why + ")");
        }
    }

    private static String path(com.fasterxml.jackson.databind.JsonMappingException e) {
        StringBuilder b = new StringBuilder();
        for (var r : e.getPath()) {
            if (r.getFieldName() != null) b.append(b.isEmpty() ? "" : ".").append(r.getFieldName());
            else if (r.getIndex() >= 0) b.append('[').append(r.getIndex()).append(']');
        }
        return b.toString();
    }

    /** The innermost cause's message, first line only (Jackson appends source locations on later lines). */
    public static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String m = t instanceof JsonProcessingException j ? j.getOriginalMessage() : t.getMessage();
        return m == null ? t.toString() : m.lines().findFirst().orElse(m);
    }

    public static String toLine(Object record) {
        try {
            return MAPPER.writeValueAsString(record);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialise " + record.getClass(), e);
        }
    }

    /** Writes all records atomically (temp file + rename). */
    public static void writeAll(Path file, Iterable<?> records) {
        AtomicFiles.write(file, out -> {
            BufferedWriter w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
            for (Object r : records) { w.write(toLine(r)); w.write('\n'); }
            w.flush();
        });
    }

    /** Appends one record per call, flushed, for resumable stages. Repairs a torn last line on open. */
    public static final class Appender implements AutoCloseable {
        private final BufferedWriter writer;

        public Appender(Path file) {
            try {
                Files.createDirectories(file.toAbsolutePath().getParent());
                if (Files.exists(file)) truncateTornTail(file);
                // A FileOutputStream, not Files.newOutputStream: the latter is an interruptible NIO channel
                // that closes itself when the writing thread is interrupted (the notebook's stop button),
                // losing the record being written instead of letting the stage stop at its boundary.
                writer = new BufferedWriter(new OutputStreamWriter(
                        new java.io.FileOutputStream(file.toFile(), true), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException("opening " + file, e);
            }
        }

        public void append(Object record) {
            try {
                writer.write(toLine(record));
                writer.write('\n');
                writer.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override public void close() {
            try { writer.close(); } catch (IOException e) { throw new UncheckedIOException(e); }
        }

        private static void truncateTornTail(Path file) throws IOException {
            byte[] bytes = Files.readAllBytes(file);
            int end = bytes.length;
            while (end > 0 && bytes[end - 1] != '\n') end--;
            if (end != bytes.length) {
                try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.WRITE)) { ch.truncate(end); }
            }
        }
    }

    /** Opens a resource or file as a stream (helper for tests and fixtures). */
    public static InputStream open(Path file) throws IOException { return Files.newInputStream(file); }
}

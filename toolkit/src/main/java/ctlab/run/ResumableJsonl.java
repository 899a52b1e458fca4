package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A JSONL output that a stage fills one record at a time and can resume: on open it reads the ids already
 * written (dropping a torn last line left by a crash), and {@link #append} refuses an id that is already
 * there. A stage loops over its work, skips {@link #has} ids and appends the rest, so an interrupted and a
 * clean run write the same records in the same order.
 */
public final class ResumableJsonl implements AutoCloseable {
    private final Path file;
    private final String idField;
    private final Set<String> ids = new LinkedHashSet<>();
    private final int existing;
    private Jsonl.Appender appender;

    private final Made made;

    /**
     * What a stage's records are made under: its config hash and input hashes (label → sha256, in the stage's
     * declaration order). A pipeline stage's resumable file carries it in {@code <file>.provenance}, written before
     * the first record, so records made under another config are refused instead of resumed (even when the stage's
     * STARTED marker is gone). Only the hashes are written, not the input paths, so two runs of the same config
     * into different folders write the same bytes.
     */
    public record Made(String stage, String configHash, Map<String, String> inputs) {
        String json() {
            var n = Jsonl.MAPPER.createObjectNode().put("stage", stage).put("config_hash", configHash);
            n.set("inputs_sha256", Jsonl.MAPPER.valueToTree(List.copyOf(inputs.values())));
            return n.toPrettyString() + "\n";
        }
    }

    private ResumableJsonl(Path file, String idField, Made made) {
        this.file = file;
        this.idField = idField;
        this.made = made;
        for (Jsonl.Line line : Jsonl.readLenient(file)) {
            String id = idOf(line.json(), line.where());
            if (!ids.add(id)) throw new CtlabException(line.where() + ": duplicate " + idField + " '" + id + "'");
        }
        existing = ids.size();
        if (made != null && existing > 0) checkMade();
    }

    /** Opens (creating on first append) {@code file}, whose records are keyed by the field {@code idField}. */
    public static ResumableJsonl open(Path file, String idField) { return new ResumableJsonl(file, idField, null); }

    /** As {@link #open(Path, String)}, for records made under {@code made}: records made under anything else are refused. */
    public static ResumableJsonl open(Path file, String idField, Made made) { return new ResumableJsonl(file, idField, made); }

    static Path provenanceFile(Path file) { return file.resolveSibling(file.getFileName() + ".provenance"); }

    private void checkMade() {
        Path p = provenanceFile(file);
        String what = !Files.exists(p) ? "no " + p.getFileName() + " says which config they were made under"
                : !Jsonl.readUtf8(p).equals(made.json()) ? p.getFileName() + " records a different config or inputs"
                : null;
        if (what != null) {
            throw new CtlabException(file + ": holds " + existing + " records but " + what + "; resuming would mix "
                    + "results: re-run with --force " + made.stage() + " (deletes the stage folder), or use a new --run-dir");
        }
    }

    /** Ids read from the file when it was opened, without opening it for writing. */
    public static Set<String> idsIn(Path file, String idField) {
        try (ResumableJsonl r = open(file, idField)) { return r.ids(); }
    }

    public boolean has(String id) { return ids.contains(id); }
    public Set<String> ids() { return Collections.unmodifiableSet(new LinkedHashSet<>(ids)); }
    public int size() { return ids.size(); }
    /** Records that were already there when the file was opened (0 on a fresh start). */
    public int resumedCount() { return existing; }
    public Path file() { return file; }

    /**
     * Appends one record (a record class, Map or JsonNode with the id field) as one flushed line. Use a record
     * or LinkedHashMap: {@code Map.of} iterates in a different order in every JVM, so a resumed run would
     * write different bytes.
     */
    public void append(Object record) {
        JsonNode json = record instanceof JsonNode n ? n : Jsonl.MAPPER.valueToTree(record);
        String id = idOf(json, file.toString());
        if (ids.contains(id)) {
            throw new IllegalStateException(file + ": record " + idField + "='" + id + "' already written");
        }
        if (appender == null) {
            // provenance first, so a record on disk always has one (rewritten only while there are no records)
            if (made != null && ids.isEmpty()) {
                Path p = provenanceFile(file);
                if (!Files.exists(p) || !Jsonl.readUtf8(p).equals(made.json())) AtomicFiles.writeString(p, made.json());
            }
            appender = new Jsonl.Appender(file);   // repairs a torn tail before appending
        }
        appender.append(json);
        ids.add(id);
    }

    private String idOf(JsonNode json, String where) {
        JsonNode v = json.get(idField);
        if (v == null || v.isNull() || !(v.isTextual() || v.isIntegralNumber())) {
            throw new CtlabException(where + ": missing " + idField + " (a string or integer id)");
        }
        return v.asText();
    }

    @Override public void close() {
        if (appender == null) return;
        try {
            appender.close();
        } catch (java.io.UncheckedIOException e) {
            // An interrupt closes the channel under the writer; every finished line is already on disk.
            if (!Thread.currentThread().isInterrupted()) throw e;
        }
    }
}

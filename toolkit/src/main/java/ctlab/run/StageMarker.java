package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The provenance a stage leaves in its folder: {@code STARTED} when it begins (config and inputs, so a
 * resumed stage can prove it continues the same work) and {@code DONE}, written last, which adds the output
 * hashes, versions, device and times. Both are JSON.
 *
 * @param config     the stage's slice of the resolved config (its {@link Stage#configKeys()})
 * @param inputs     input (as {@code stage:path} or an outside path) → sha256
 * @param outputs    output path → sha256 (DONE only)
 * @param seeds      named seeds the stage derived from the master seed (the first few)
 * @param outputStats output file → size and modification time when DONE was written (DONE only; null in
 *                   markers written before they were recorded), the fast path of {@link #outputChanged}
 */
public record StageMarker(String stage, String configHash, JsonNode config, Map<String, String> inputs,
                          Map<String, String> outputs, long seed, Map<String, Long> seeds,
                          Map<String, String> versions, String device, int threads, String started,
                          String finished, double seconds, boolean resumed, Map<String, FileStat> outputStats) {

    public static final String DONE = "DONE";
    public static final String STARTED = "STARTED";

    /** A marker without output stats (STARTED, or a DONE whose outputs are only checked by hash). */
    public StageMarker(String stage, String configHash, JsonNode config, Map<String, String> inputs,
                       Map<String, String> outputs, long seed, Map<String, Long> seeds,
                       Map<String, String> versions, String device, int threads, String started,
                       String finished, double seconds, boolean resumed) {
        this(stage, configHash, config, inputs, outputs, seed, seeds, versions, device, threads, started, finished,
                seconds, resumed, null);
    }

    public StageMarker withOutputStats(Map<String, FileStat> stats) {
        return new StageMarker(stage, configHash, config, inputs, outputs, seed, seeds, versions, device, threads, started,
                finished, seconds, resumed, stats);
    }

    /** Size and modification time (ns) of a regular file. */
    public record FileStat(long size, long modifiedNs) {
        /** The stat of {@code file}, or null for a directory or a missing file (those are always hashed). */
        public static FileStat of(Path file) {
            try {
                var a = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
                return a.isRegularFile() ? new FileStat(a.size(), a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS)) : null;
            } catch (java.io.IOException e) {
                return null;
            }
        }
    }

    /**
     * Whether output {@code name} (in the stage folder {@code dir}) differs from what this DONE recorded: same
     * size and mtime are trusted (cheap), otherwise the file is hashed and compared, so a copy with {@code cp -p}
     * or a git checkout still matches. Returns the sha256 now on disk when it differs, else null; an output
     * without a recorded hash cannot be checked and counts as unchanged.
     */
    public String outputChanged(Path dir, String name) {
        String recorded = outputs == null ? null : outputs.get(name);
        if (recorded == null) return null;
        Path file = dir.resolve(name);
        FileStat then = outputStats == null ? null : outputStats.get(name);
        if (then != null && then.equals(FileStat.of(file))) return null;
        String now = Hashes.of(file);
        return now.equals(recorded) ? null : now;
    }

    public void write(Path file) {
        ObjectNode n = Jsonl.MAPPER.createObjectNode();
        n.put("stage", stage);
        n.put("config_hash", configHash);
        n.set("config", config);
        n.set("inputs", Jsonl.MAPPER.valueToTree(inputs));
        if (outputs != null) n.set("outputs", Jsonl.MAPPER.valueToTree(outputs));
        if (outputStats != null) {
            ObjectNode stats = n.putObject("output_stats");
            outputStats.forEach((k, v) -> stats.putObject(k).put("size", v.size()).put("modified_ns", v.modifiedNs()));
        }
        n.put("seed", seed);
        if (seeds != null) n.set("seeds", Jsonl.MAPPER.valueToTree(seeds));
        n.set("versions", Jsonl.MAPPER.valueToTree(versions));
        n.put("device", device);
        n.put("threads", threads);
        n.put("started", started);
        if (finished != null) {
            n.put("finished", finished);
            n.put("seconds", seconds);
        }
        n.put("resumed", resumed);
        AtomicFiles.writeString(file, n.toPrettyString() + "\n");
    }

    /** Reads a marker; a missing file is empty, a damaged one a CtlabException naming it. */
    public static Optional<StageMarker> read(Path file) {
        if (!Files.exists(file)) return Optional.empty();
        JsonNode n;
        try {
            n = Jsonl.MAPPER.readTree(Jsonl.readUtf8(file));
        } catch (Exception e) {
            throw new CtlabException(file + ": damaged completion marker (" + e.getMessage()
                    + "); delete the stage folder or re-run with --force");
        }
        if (n == null || !n.hasNonNull("stage") || !n.hasNonNull("config_hash") || !n.has("inputs")) {
            throw new CtlabException(file + ": damaged completion marker (missing stage/config_hash/inputs); "
                    + "delete the stage folder or re-run with --force");
        }
        return Optional.of(new StageMarker(n.get("stage").asText(), n.get("config_hash").asText(), n.get("config"),
                strings(n.get("inputs")), n.has("outputs") ? strings(n.get("outputs")) : null,
                n.path("seed").asLong(), longs(n.get("seeds")), strings(n.get("versions")),
                n.path("device").asText(null), n.path("threads").asInt(), n.path("started").asText(null),
                n.path("finished").asText(null), n.path("seconds").asDouble(), n.path("resumed").asBoolean(),
                stats(n.get("output_stats"))));
    }

    private static Map<String, FileStat> stats(JsonNode n) {
        if (n == null || !n.isObject()) return null;
        Map<String, FileStat> m = new LinkedHashMap<>();
        n.fields().forEachRemaining(e -> {
            JsonNode s = e.getValue();
            if (s.path("size").canConvertToLong() && s.path("modified_ns").canConvertToLong()) {
                m.put(e.getKey(), new FileStat(s.get("size").asLong(), s.get("modified_ns").asLong()));
            }
        });
        return m;
    }

    private static Map<String, String> strings(JsonNode n) {
        Map<String, String> m = new LinkedHashMap<>();
        if (n != null) n.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        return m;
    }

    private static Map<String, Long> longs(JsonNode n) {
        Map<String, Long> m = new LinkedHashMap<>();
        if (n != null) n.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asLong()));
        return m;
    }
}

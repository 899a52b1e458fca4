package ctlab.run;

import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.io.Progress;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** What a running {@link Stage} sees: the config, its folder, its inputs, log, metrics, seeds, progress. */
public final class StageContext {
    private static final int SEEDS_RECORDED = 32;

    private final RunConfig config;
    private final RunDir run;
    private final Pipeline pipeline;
    private final Stage stage;
    private final Path dir;
    private final boolean resumed;
    private final ResumableJsonl.Made made;
    private final Map<String, Long> seeds = Collections.synchronizedMap(new LinkedHashMap<>());

    StageContext(RunConfig config, RunDir run, Pipeline pipeline, Stage stage, Path dir, boolean resumed,
                 String configHash, Map<String, String> inputs) {
        this.made = new ResumableJsonl.Made(stage.name(), configHash, inputs);
        this.config = config;
        this.run = run;
        this.pipeline = pipeline;
        this.stage = stage;
        this.dir = dir;
        this.resumed = resumed;
    }

    public RunConfig config() { return config; }
    public Stage stage() { return stage; }
    /** This stage's folder ({@code NN-name/}). */
    public Path dir() { return dir; }
    public Path file(String name) { return dir.resolve(name); }
    public Path runDir() { return run.root(); }
    /** True when the folder held partial outputs of an interrupted attempt with the same config and inputs. */
    public boolean resumed() { return resumed; }

    /** File {@code path} in the folder of the earlier stage {@code stageName}. */
    public Path input(String stageName, String path) {
        return run.root().resolve(pipeline.folderName(stageName)).resolve(path);
    }

    /** A timestamped line in this stage's log, the run log and the console. */
    public void log(String message) { run.log(dir, stage.name(), message); }

    /** Appends one metrics record (with the stage name and time) to this stage's {@code metrics.jsonl}. */
    public void metrics(Map<String, ?> values) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("stage", stage.name());
        rec.put("time", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
        rec.putAll(values);
        try (Jsonl.Appender a = new Jsonl.Appender(dir.resolve(RunDir.METRICS))) { a.append(rec); }
    }

    /** A progress bar labelled with the stage name; close it when done (try-with-resources). */
    public Progress progress(String label, long total) {
        return Progress.start(stage.name() + (label == null || label.isEmpty() ? "" : " " + label), total);
    }

    /**
     * A seed for {@code purpose} (e.g. {@code "problem:17"}), derived from the master seed and the stage
     * name, so it is the same on every run and resume, independent of processing order.
     */
    public long seed(String purpose) {
        long s = derive(config.seed(), stage.name(), purpose);
        if (seeds.size() < SEEDS_RECORDED) seeds.putIfAbsent(purpose, s);
        return s;
    }

    Map<String, Long> seedsUsed() { return new LinkedHashMap<>(seeds); }

    /** Non-negative 63-bit seed from SHA-256 of (master, stage, purpose). */
    public static long derive(long master, String stageName, String purpose) {
        byte[] h = java.util.HexFormat.of().parseHex(Hashes.sha256(
                (master + "\0" + stageName + "\0" + purpose).getBytes(StandardCharsets.UTF_8)));
        return ByteBuffer.wrap(h).getLong() & Long.MAX_VALUE;
    }

    /** Throws {@link RunInterrupted} when the thread was interrupted; call between records or steps. */
    public void checkInterrupted() {
        if (Thread.currentThread().isInterrupted()) {
            throw new RunInterrupted("interrupted during stage " + stage.name() + "; re-run the same command to resume");
        }
    }

    /**
     * A resumable JSONL output in this stage's folder keyed by {@code idField}; it carries this stage's config and
     * input hashes ({@code <file>.provenance}), and records made under others are refused, not resumed.
     */
    public ResumableJsonl resumable(String file, String idField) {
        if (file.contains("/") || file.contains("\\")) throw new CtlabException("resumable file must be in the stage folder: " + file);
        return ResumableJsonl.open(dir.resolve(file), idField, made);
    }
}

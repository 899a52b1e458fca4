package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.data.DataFormat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Runs stages in order into a {@link RunDir}. For each stage:
 * <ul>
 *   <li>{@code DONE} present with the same config slice and input hashes → skipped;</li>
 *   <li>{@code DONE} present but the config or an input changed → refused (results would mix) with a
 *       message naming the changed keys and the way out: a new run dir or {@code --force STAGE};</li>
 *   <li>{@code STARTED} only (a previous attempt was cut off) → the stage runs again and resumes from its
 *       partial outputs, after the same config/input check;</li>
 *   <li>otherwise it runs fresh. {@code --force STAGE} deletes the stage folder first.</li>
 * </ul>
 * {@code DONE} is written last, after the declared outputs are checked, so a killed stage never looks done.
 * Interrupting the running thread stops at the next {@link StageContext#checkInterrupted()} and throws
 * {@link RunInterrupted}.
 */
public final class Pipeline {
    /** What happened to a stage in one invocation. */
    public enum Status { RAN, RESUMED, SKIPPED }

    public record Outcome(String stage, String folder, Status status, double seconds) {}

    /**
     * @param only    stage names to run (empty: all); their inputs from other stages must already be done
     * @param force   stage names to delete and re-run ({@code all} for every selected stage)
     * @param console receives log lines (nullable)
     */
    public record Options(Set<String> only, Set<String> force, Consumer<String> console) {
        public Options {
            only = only == null ? Set.of() : Set.copyOf(only);
            force = force == null ? Set.of() : Set.copyOf(force);
        }

        public static Options defaults() { return new Options(Set.of(), Set.of(), null); }
        public Options withConsole(Consumer<String> c) { return new Options(only, force, c); }
    }

    private final List<Stage> stages;

    public Pipeline(List<Stage> stages) {
        this.stages = List.copyOf(stages);
        Set<String> names = new HashSet<>();
        for (Stage s : this.stages) {
            if (!s.name().matches("[a-z0-9]+(-[a-z0-9]+)*")) throw new IllegalArgumentException("bad stage name: " + s.name());
            if (s.name().equals("all")) throw new IllegalArgumentException("'all' is reserved");
            if (!names.add(s.name())) throw new IllegalArgumentException("duplicate stage name: " + s.name());
        }
    }

    public List<Stage> stages() { return stages; }

    /** The stage called {@code name}, or a CtlabException listing the names (with a did-you-mean). */
    public Stage stage(String name) {
        for (Stage s : stages) if (s.name().equals(name)) return s;
        List<String> names = stages.stream().map(Stage::name).toList();
        String hint = Suggest.closest(name, names).map(n -> "did you mean " + n + "? ").orElse("");
        throw new CtlabException("unknown stage '" + name + "' (" + hint + "stages: " + String.join(", ", names) + ")");
    }

    public String folderName(String stageName) { return RunDir.folderName(stages.indexOf(stage(stageName)), stageName); }

    /** Runs the selected stages of {@code config} into {@code root}. */
    public List<Outcome> run(RunConfig config, Path root, Options options) {
        Objects.requireNonNull(config, "config");
        options.only().forEach(this::stage);
        options.force().stream().filter(f -> !f.equals("all")).forEach(this::stage);
        for (String f : options.force()) {
            if (!f.equals("all") && !options.only().isEmpty() && !options.only().contains(f)) {
                throw new CtlabException("--force " + f + ": stage " + f + " is not among the stages to run (--only "
                        + String.join(", ", options.only().stream().sorted().toList()) + "); add it to --only or drop --only");
            }
        }
        List<Stage> selected = options.only().isEmpty() ? stages
                : stages.stream().filter(s -> options.only().contains(s.name())).toList();
        RunDir run = new RunDir(root, options.console());
        try (AutoCloseable lock = run.lock()) {
            Hashes.loadCache(root.resolve(RunDir.HASH_CACHE));
            try {
                return runLocked(config, run, selected, options);
            } finally {
                saveHashCache(root);
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);     // only lock release can throw a checked exception here
        }
    }

    private List<Outcome> runLocked(RunConfig config, RunDir run, List<Stage> selected, Options options) {
        Path root = run.root();
        // Refuse a changed config before anything runs or config.yaml is replaced.
        for (Stage s : selected) {
            if (!forced(s, options)) checkConfig(s, config, root.resolve(folderName(s.name())));
        }
        // Every file a selected stage reads from outside the run (model, data) is checked, and hashed, before
        // anything is moved, deleted or written: a typo in --set model=... must not cost a finished stage.
        for (Stage s : selected) preflight(s, config);
        applyThreads(config, run);
        run.log(null, null, "run " + config.name() + " in " + root.toAbsolutePath() + " (stages: "
                + String.join(", ", selected.stream().map(Stage::name).toList()) + ")");
        // config.yaml is replaced only when a stage really starts (or the run ends well), so a run refused by
        // its checks leaves the previous invocation's config in place.
        boolean[] configWritten = {false};
        Runnable configWriter = () -> {
            if (!configWritten[0]) run.writeConfig(config);
            configWritten[0] = true;
        };
        List<Outcome> outcomes = new ArrayList<>();
        for (Stage s : selected) {
            if (Thread.currentThread().isInterrupted()) {
                run.log(null, null, "interrupted before stage " + s.name());
                throw new RunInterrupted("interrupted before stage " + s.name() + "; re-run the same command to resume");
            }
            outcomes.add(runStage(s, config, run, forced(s, options), configWriter));
        }
        configWriter.run();         // every stage skipped: still record the latest invocation
        run.log(null, null, "run finished");
        return outcomes;
    }

    static final String TORCH_THREADS = "ai.djl.pytorch.num_threads";

    /** The intra-op thread count PyTorch gets: DJL's property when set, else the config's (0 = all cores). */
    static int threadsInUse(RunConfig config) {
        Integer set = Integer.getInteger(TORCH_THREADS);
        return set != null && set > 0 ? set : config.effectiveThreads();
    }

    /**
     * Passes {@code threads} to PyTorch through DJL's {@code ai.djl.pytorch.num_threads}, read when the engine
     * first loads (so in a JVM whose engine is already up, e.g. a notebook, set it before the first model).
     */
    private static void applyThreads(RunConfig config, RunDir run) {
        if (config.threads() <= 0) return;
        String want = Integer.toString(config.threads());
        String have = System.getProperty(TORCH_THREADS);
        if (have == null) {
            System.setProperty(TORCH_THREADS, want);
        } else if (!have.equals(want)) {
            run.log(null, null, "warning: config threads " + want + " but " + TORCH_THREADS + "=" + have
                    + " is already set; PyTorch uses " + have);
        }
    }

    /** Best effort: the cache only saves re-hashing; it must not mask the run's own outcome. */
    private static void saveHashCache(Path root) {
        boolean interrupted = Thread.interrupted();
        try {
            Hashes.saveCache(root.resolve(RunDir.HASH_CACHE));
        } catch (RuntimeException ignored) {
            // next run hashes again
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    private static boolean forced(Stage s, Options o) { return o.force().contains("all") || o.force().contains(s.name()); }

    /** Checks what can be checked before anything is written: the stage exists and its outside inputs are there. */
    private void preflight(Stage stage, RunConfig config) {
        Map<String, String> ignored = new LinkedHashMap<>();
        for (Stage.Input in : stage.inputs(config)) {
            if (in.isExternal()) hashExternal(stage, config, in, ignored);
        }
    }

    private Outcome runStage(Stage stage, RunConfig config, RunDir run, boolean force, Runnable beforeStart) {
        String folder = folderName(stage.name());
        Path dir = run.root().resolve(folder);
        JsonNode slice = configSlice(config, stage.configKeys());
        String configHash = Hashes.sha256(ConfigLoader.canonical(slice));
        Map<String, String> inputs = hashInputs(stage, config, run);
        if (!force || !Files.exists(dir)) return runChecked(stage, config, run, dir, slice, configHash, inputs, beforeStart);

        // --force: the finished folder is moved aside, not deleted, until this attempt finishes; any failure
        // (a crash, a bad model file, an interrupt) puts it back, so forcing never loses a finished stage.
        Path aside = run.moveAside(dir);
        run.log(null, stage.name(), "--force: moved " + folder + "/ aside; it is deleted when this attempt finishes");
        Outcome o;
        try {
            o = runChecked(stage, config, run, dir, slice, configHash, inputs, beforeStart);
        } catch (RuntimeException | Error e) {
            run.restoreAside(aside, dir);
            run.log(null, stage.name(), "--force: this attempt did not finish; restored the previous " + folder + "/");
            throw e;
        }
        run.deleteAside(aside);
        return o;
    }

    private Outcome runChecked(Stage stage, RunConfig config, RunDir run, Path dir, JsonNode slice, String configHash,
                               Map<String, String> inputs, Runnable beforeStart) {
        String folder = dir.getFileName().toString();

        Optional<StageMarker> done = StageMarker.read(dir.resolve(StageMarker.DONE));
        if (done.isPresent()) {
            DataFormat.check(done.get().versions(), folder, stage.name());
            refuseIfChanged(stage, folder, done.get(), configHash, slice, asRecorded(done.get(), config, inputs), "finished");
            for (String out : stage.outputs(config)) {
                if (!Files.exists(dir.resolve(out))) {
                    throw new CtlabException("stage " + stage.name() + " is marked done but " + folder + "/" + out
                            + " is missing; re-run with --force " + stage.name());
                }
                checkUnchanged(stage.name(), folder, done.get(), dir, out);
            }
            run.log(dir, stage.name(), "done already (" + done.get().finished() + "), skipped");
            return new Outcome(stage.name(), folder, Status.SKIPPED, 0);
        }
        Optional<StageMarker> started = StageMarker.read(dir.resolve(StageMarker.STARTED));
        boolean resumed = started.isPresent();
        if (resumed) {
            refuseIfChanged(stage, folder, started.get(), configHash, slice, asRecorded(started.get(), config, inputs), "was started");
            StageMarker before = started.get();
            if (!Objects.equals(before.device(), config.device()) || before.threads() != threadsInUse(config)) {
                run.log(dir, stage.name(), "warning: resuming with device " + config.device() + " and "
                        + threadsInUse(config) + " threads; the first attempt used " + before.device() + " and "
                        + before.threads() + " (numbers may differ from an uninterrupted run)");
            }
        }

        beforeStart.run();
        Instant t0 = Instant.now();
        String startedAt = t0.truncatedTo(ChronoUnit.MILLIS).toString();
        if (!resumed) {
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new UncheckedIOException("creating " + dir, e);
            }
            marker(stage, configHash, slice, inputs, null, config, null, startedAt, null, 0, false)
                    .write(dir.resolve(StageMarker.STARTED));
        }
        run.log(dir, stage.name(), (resumed ? "resuming" : "starting") + " (" + stage.description() + ")");
        StageContext ctx = new StageContext(config, run, this, stage, dir, resumed, configHash, inputs);
        try {
            stage.run(ctx);
            ctx.checkInterrupted();
        } catch (RunInterrupted e) {
            run.log(dir, stage.name(), "interrupted; partial outputs kept, re-run to resume");
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            run.log(dir, stage.name(), "interrupted; partial outputs kept, re-run to resume");
            throw new RunInterrupted("interrupted during stage " + stage.name() + "; re-run the same command to resume");
        } catch (RuntimeException e) {
            if (Thread.currentThread().isInterrupted() || causedByInterrupt(e)) {
                // e.g. an append whose file channel was closed by the interrupt: the same as a clean stop
                run.log(dir, stage.name(), "interrupted; partial outputs kept, re-run to resume");
                throw new RunInterrupted("interrupted during stage " + stage.name() + "; re-run the same command to resume");
            }
            run.log(dir, stage.name(), "failed: " + e);
            throw e;
        } catch (Exception e) {
            run.log(dir, stage.name(), "failed: " + e);
            throw new IllegalStateException("stage " + stage.name() + " failed", e);
        }
        Map<String, String> outputs = new LinkedHashMap<>();
        Map<String, StageMarker.FileStat> stats = new LinkedHashMap<>();
        for (String out : stage.outputs(config)) {
            Path p = dir.resolve(out);
            if (!Files.exists(p)) {
                throw new IllegalStateException("stage " + stage.name() + " finished without writing its output " + folder + "/" + out);
            }
            StageMarker.FileStat st = StageMarker.FileStat.of(p);     // before hashing: a later edit then never looks unchanged
            outputs.put(out, Hashes.of(p));
            if (st != null) stats.put(out, st);
        }
        Instant t1 = Instant.now();
        double seconds = (t1.toEpochMilli() - t0.toEpochMilli()) / 1000.0;
        String firstStart = resumed ? started.get().started() : startedAt;
        marker(stage, configHash, slice, inputs, outputs, config, ctx.seedsUsed(), firstStart,
                t1.truncatedTo(ChronoUnit.MILLIS).toString(), seconds, resumed).withOutputStats(stats)
                .write(dir.resolve(StageMarker.DONE));
        run.log(dir, stage.name(), String.format(java.util.Locale.ROOT, "done in %.1f s", seconds));
        return new Outcome(stage.name(), folder, resumed ? Status.RESUMED : Status.RAN, seconds);
    }

    private static boolean causedByInterrupt(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.nio.channels.ClosedByInterruptException || t instanceof InterruptedException) return true;
        }
        return false;
    }

    private static StageMarker marker(Stage stage, String configHash, JsonNode slice, Map<String, String> inputs,
                                      Map<String, String> outputs, RunConfig config, Map<String, Long> seeds,
                                      String started, String finished, double seconds, boolean resumed) {
        return new StageMarker(stage.name(), configHash, slice, inputs, outputs, config.seed(), seeds,
                Provenance.versions(), config.device(), threadsInUse(config), started, finished, seconds, resumed);
    }

    /** Preflight: a finished (or started) stage whose config slice changed is refused before anything runs. */
    private void checkConfig(Stage stage, RunConfig config, Path dir) {
        JsonNode slice = configSlice(config, stage.configKeys());
        String hash = Hashes.sha256(ConfigLoader.canonical(slice));
        for (String name : List.of(StageMarker.DONE, StageMarker.STARTED)) {
            Optional<StageMarker> m = StageMarker.read(dir.resolve(name));
            if (m.isPresent()) DataFormat.check(m.get().versions(), dir.getFileName().toString(), stage.name());
            if (m.isPresent() && !m.get().configHash().equals(hash)) {
                throw changed(stage, dir.getFileName().toString(), name.equals(StageMarker.DONE) ? "finished" : "was started",
                        "with a different config (" + diff(m.get().config(), slice) + ")");
            }
            if (m.isPresent()) return;
        }
        // Files without STARTED (a user removed it): the config they were made under is unknown, so never adopt them.
        if (Files.isDirectory(dir)) {
            List<String> leftovers;
            try (var files = Files.list(dir)) {
                leftovers = files.map(p -> p.getFileName().toString())
                        .filter(n -> !n.startsWith(".") && !n.equals(RunDir.LOG)).sorted().toList();   // .tmp of atomic writes
            } catch (IOException e) {
                throw new UncheckedIOException("listing " + dir, e);
            }
            if (!leftovers.isEmpty()) {
                String folder = dir.getFileName().toString();
                String shown = String.join(", ", leftovers.subList(0, Math.min(3, leftovers.size())))
                        + (leftovers.size() > 3 ? ", ..." : "");
                throw new CtlabException(folder + "/ holds " + shown + " but no " + StageMarker.STARTED
                        + " or " + StageMarker.DONE + " marker, so the config they were made under is unknown; re-run with --force "
                        + stage.name() + " (deletes " + folder + "/), or use a new --run-dir");
            }
        }
    }

    private void refuseIfChanged(Stage stage, String folder, StageMarker m, String configHash, JsonNode slice,
                                 Map<String, String> inputs, String when) {
        if (!m.configHash().equals(configHash)) {
            throw changed(stage, folder, when, "with a different config (" + diff(m.config(), slice) + ")");
        }
        for (Map.Entry<String, String> e : inputs.entrySet()) {
            String before = m.inputs().get(e.getKey());
            if (!e.getValue().equals(before)) {
                throw changed(stage, folder, when, before == null ? "without input " + e.getKey()
                        : "with a different " + e.getKey() + " (sha256 " + shortHash(before) + " -> " + shortHash(e.getValue()) + ")");
            }
        }
    }

    /** A finished stage's output edited or truncated after its DONE is refused, never used as it is. */
    private static void checkUnchanged(String stageName, String folder, StageMarker done, Path dir, String out) {
        String now = done.outputChanged(dir, out);
        if (now != null) {
            throw new CtlabException(folder + "/" + out + " changed after stage " + stageName + " finished (sha256 "
                    + shortHash(done.outputs().get(out)) + " in " + folder + "/DONE, " + shortHash(now)
                    + " on disk); restore the file, or re-run with --force " + stageName + " to redo the stage");
        }
    }

    private static CtlabException changed(Stage stage, String folder, String when, String what) {
        return new CtlabException("stage " + stage.name() + " " + when + " in " + folder + "/ " + what
                + "; mixing results is refused: use a new --run-dir, or re-run with --force " + stage.name()
                + " (replaces " + folder + "/ once the new attempt finishes)");
    }

    private static String shortHash(String h) { return h.length() > 12 ? h.substring(0, 12) : h; }

    /** Input label → sha256; outputs of earlier stages are taken from their DONE markers. */
    private Map<String, String> hashInputs(Stage stage, RunConfig config, RunDir run) {
        Map<String, String> hashes = new LinkedHashMap<>();
        int self = stages.indexOf(stage);
        for (Stage.Input in : stage.inputs(config)) {
            if (in.isExternal()) {
                hashExternal(stage, config, in, hashes);
                continue;
            }
            Stage from = stage(in.stage());
            if (stages.indexOf(from) >= self) {
                throw new IllegalStateException("stage " + stage.name() + " reads from later stage " + from.name());
            }
            String folder = folderName(from.name());
            Optional<StageMarker> done = StageMarker.read(run.root().resolve(folder).resolve(StageMarker.DONE));
            if (done.isEmpty()) {
                throw new CtlabException("stage " + stage.name() + " needs " + folder + "/" + in.path() + " from stage "
                        + from.name() + ", which has not finished; run it first (--only " + from.name() + ") or drop --only");
            }
            Path p = run.root().resolve(folder).resolve(in.path());
            if (!Files.exists(p)) throw new CtlabException("stage " + stage.name() + ": input " + p + " not found");
            checkUnchanged(from.name(), folder, done.get(), run.root().resolve(folder), in.path());
            String recorded = done.get().outputs() == null ? null : done.get().outputs().get(in.path());
            hashes.put(folder + "/" + in.path(), recorded != null ? recorded : Hashes.of(p));
        }
        return hashes;
    }

    /**
     * Hashes a file or folder outside the run into {@code hashes}. The configured model folder counts as the files
     * the model is made of ({@link Hashes#modelFiles}), one entry each, so editing its README changes nothing and a
     * changed weight or tokenizer file is named in the refusal.
     */
    private static void hashExternal(Stage stage, RunConfig config, Stage.Input in, Map<String, String> hashes) {
        Path p = Path.of(in.path());
        if (!Files.exists(p)) throw new CtlabException("stage " + stage.name() + ": input " + in.path() + " not found");
        if (in.path().equals(config.model()) && Files.isDirectory(p)) {
            for (Path f : Hashes.modelFiles(p)) hashes.put(p.resolve(f.getFileName()).toString(), Hashes.of(f));
        } else {
            hashes.put(in.path(), Hashes.of(p));
        }
    }

    /**
     * {@code inputs} in the layout of marker {@code m}: markers written before the model folder was hashed per file
     * hold one whole-folder entry, which still matches while the folder is unchanged (so an upgrade does not
     * refuse every finished stage).
     */
    private static Map<String, String> asRecorded(StageMarker m, RunConfig config, Map<String, String> inputs) {
        String model = config.model();
        if (model == null || m.inputs() == null || !m.inputs().containsKey(model) || !Files.isDirectory(Path.of(model))) {
            return inputs;
        }
        Path dir = Path.of(model);
        Map<String, String> old = new LinkedHashMap<>();
        inputs.forEach((k, v) -> { if (!Path.of(k).startsWith(dir)) old.put(k, v); });
        old.put(model, Hashes.of(dir));
        return old;
    }

    /** The values of {@code keys} (dotted paths) as one object, e.g. {"seed": 42, "sample": {...}}. */
    static JsonNode configSlice(RunConfig config, List<String> keys) {
        JsonNode tree = config.tree();
        ObjectNode slice = JsonNodeFactory.instance.objectNode();
        for (String key : new LinkedHashSet<>(keys)) {
            JsonNode v = tree;
            for (String part : key.split("\\.")) {
                v = v == null ? null : v.get(part);
            }
            if (v == null && RunConfig.OMITTED_AT_DEFAULT.contains(key)) continue;   // at its default: not in the hash
            if (v == null) throw new IllegalArgumentException("unknown config key in stage declaration: " + key);
            slice.set(key, v);
        }
        return slice;
    }

    /** Up to five changed key paths, {@code a.b: old -> new}. */
    static String diff(JsonNode before, JsonNode after) {
        List<String> out = new ArrayList<>();
        diff("", before, after, out);
        if (out.isEmpty()) return "config hash differs";
        String shown = String.join(", ", out.subList(0, Math.min(5, out.size())));
        return out.size() > 5 ? shown + ", ... " + (out.size() - 5) + " more" : shown;
    }

    private static void diff(String path, JsonNode a, JsonNode b, List<String> out) {
        if (a != null && b != null && a.isObject() && b.isObject()) {
            Set<String> keys = new LinkedHashSet<>();
            a.fieldNames().forEachRemaining(keys::add);
            b.fieldNames().forEachRemaining(keys::add);
            for (Iterator<String> it = keys.iterator(); it.hasNext(); ) {
                String k = it.next();
                diff(path.isEmpty() ? k : path + "." + k, a.get(k), b.get(k), out);
            }
        } else if (!Objects.equals(a, b) && !(a != null && b != null && a.isNumber() && b.isNumber()
                && a.decimalValue().compareTo(b.decimalValue()) == 0)) {     // 42 read back as int vs long
            out.add(path + ": " + (a == null ? "(absent)" : a.toString()) + " -> " + (b == null ? "(absent)" : b.toString()));
        }
    }
}

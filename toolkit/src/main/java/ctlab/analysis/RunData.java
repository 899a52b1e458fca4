package ctlab.analysis;

import ctlab.data.EvalOutcome;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.critical.RolloutProbe;
import ctlab.data.DataFormat;
import ctlab.data.ScoredPair;
import ctlab.io.Jsonl;
import ctlab.run.RunDir;
import ctlab.run.StageMarker;
import ctlab.task.GradedSample;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The record files of one run directory, read with the stages' own record classes; every part is optional
 * (a run cut off after sampling has only {@link #graded()} empty and {@link #stages()} short), so analyses and
 * the report work on partial runs. A malformed line is a {@link CtlabException} naming file and line.
 *
 * <p>Files read: {@code NN-select/graded.jsonl} ({@link GradedSample}), {@code NN-score-ce/pairs-scored.jsonl}
 * ({@link ScoredPair}), {@code NN-rollout/rollout.jsonl} ({@link RolloutProbe.Result}), training metrics from
 * {@code NN-train-<method>/metrics.jsonl} (or {@code NN-train/<method>/metrics.jsonl}), and
 * {@code NN-eval/eval-<method>.jsonl} ({@link EvalOutcome}).
 */
public final class RunData {
    private static final Pattern STAGE_FOLDER = Pattern.compile("(\\d{2,})-([a-z0-9-]+)");
    private static final Pattern EVAL_FILE = Pattern.compile("eval-([A-Za-z0-9_.-]+)\\.jsonl");

    private final Path root;
    private final Map<String, Path> stageDirs;               // stage name → folder, in folder order
    private final Map<String, StageMarker> done;
    private final List<GradedSample> graded;
    private final List<ScoredPair> scoredPairs;
    private final List<RolloutProbe.Result> rollouts;
    private final Map<String, List<JsonNode>> trainMetrics;  // method → metrics records
    private final Map<String, List<EvalOutcome>> evals;       // method → outcomes

    private RunData(Path root, Map<String, Path> stageDirs, Map<String, StageMarker> done, List<GradedSample> graded,
                    List<ScoredPair> scoredPairs, List<RolloutProbe.Result> rollouts,
                    Map<String, List<JsonNode>> trainMetrics, Map<String, List<EvalOutcome>> evals) {
        this.root = root;
        this.stageDirs = stageDirs;
        this.done = done;
        this.graded = graded;
        this.scoredPairs = scoredPairs;
        this.rollouts = rollouts;
        this.trainMetrics = trainMetrics;
        this.evals = evals;
    }

    /** Reads everything present under {@code runDir}; a folder that is not a directory is a CtlabException. */
    public static RunData load(Path runDir) {
        if (!Files.isDirectory(runDir)) throw new CtlabException(runDir + ": not a directory");
        Map<String, Path> dirs = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(runDir)) {
            s.filter(Files::isDirectory).sorted().forEach(p -> {
                Matcher m = STAGE_FOLDER.matcher(p.getFileName().toString());
                if (m.matches()) dirs.putIfAbsent(m.group(2), p);
            });
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + runDir, e);
        }
        if (dirs.isEmpty() && !Files.exists(runDir.resolve(RunDir.CONFIG))) {
            // e.g. the parent runs/ folder: an empty report or table would look like a run with no results
            throw new CtlabException(runDir + ": not a run directory (no " + RunDir.CONFIG
                    + " and no NN-stage folders); give the folder that ctlab run wrote (its --run-dir)");
        }
        Map<String, StageMarker> done = new LinkedHashMap<>();
        for (var e : dirs.entrySet()) StageMarker.read(e.getValue().resolve(StageMarker.DONE)).ifPresent(m -> done.put(e.getKey(), m));
        // record files of an older format are refused, not read through fallback code
        for (var e : done.entrySet())
            DataFormat.check(e.getValue().versions(), runDir.resolve(dirs.get(e.getKey()).getFileName()).toString(), e.getKey());

        List<GradedSample> graded = records(dirs.get("select"), "graded.jsonl", GradedSample.class);
        List<ScoredPair> pairs = records(dirs.get("score-ce"), "pairs-scored.jsonl", ScoredPair.class);
        List<RolloutProbe.Result> rollouts = records(dirs.get("rollout"), "rollout.jsonl", RolloutProbe.Result.class);

        Map<String, List<JsonNode>> metrics = new TreeMap<>();
        for (var e : dirs.entrySet()) {
            String stage = e.getKey();
            if (stage.equals("train-pos") || stage.equals("train-neg")) continue;
            if (stage.startsWith("train-")) {
                readMetrics(e.getValue().resolve(RunDir.METRICS)).ifPresent(l -> metrics.put(stage.substring(6), l));
            } else if (stage.equals("train")) {
                try (Stream<Path> s = Files.list(e.getValue())) {
                    for (Path sub : s.filter(Files::isDirectory).sorted().toList()) {
                        readMetrics(sub.resolve(RunDir.METRICS)).ifPresent(l -> metrics.put(sub.getFileName().toString(), l));
                    }
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            }
        }

        Map<String, List<EvalOutcome>> evals = new LinkedHashMap<>();
        Path evalDir = dirs.get("eval");
        if (evalDir != null) {
            try (Stream<Path> s = Files.list(evalDir)) {
                for (Path f : s.sorted().toList()) {
                    Matcher m = EVAL_FILE.matcher(f.getFileName().toString());
                    if (m.matches()) evals.put(m.group(1), records(f, EvalOutcome.class));
                }
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
        return new RunData(runDir, dirs, done, graded, pairs, rollouts, metrics, evals);
    }

    private static <T> List<T> records(Path dir, String file, Class<T> type) {
        if (dir == null || !Files.exists(dir.resolve(file))) return List.of();
        return records(dir.resolve(file), type);
    }

    /** Reads a JSONL file of records (a torn last line dropped); errors name file, line and field. */
    static <T> List<T> records(Path file, Class<T> type) { return Jsonl.readLenient(file, type); }

    private static Optional<List<JsonNode>> readMetrics(Path file) {
        if (!Files.exists(file)) return Optional.empty();
        List<JsonNode> out = new ArrayList<>();
        for (Jsonl.Line line : Jsonl.readLenient(file)) if (line.json().has("step")) out.add(line.json());
        return Optional.of(out);
    }

    public Path root() { return root; }
    /** Stage name → folder, for the stages that have a folder (finished or not), in pipeline order. */
    public Map<String, Path> stageDirs() { return stageDirs; }
    /** Stage name → DONE marker, for the finished stages. */
    public Map<String, StageMarker> done() { return done; }
    public boolean finished(String stage) { return done.containsKey(stage); }
    public List<GradedSample> graded() { return graded; }
    public List<ScoredPair> scoredPairs() { return scoredPairs; }
    public List<RolloutProbe.Result> rollouts() { return rollouts; }
    /** Training method (loss) → its metrics records (those with a {@code step}), ordered by method name. */
    public Map<String, List<JsonNode>> trainMetrics() { return trainMetrics; }
    /** Evaluated method → per-problem outcomes, ordered by file name. */
    public Map<String, List<EvalOutcome>> evals() { return evals; }

    /** The run's config.yaml text, if present. */
    public Optional<String> configText() {
        Path f = root.resolve(RunDir.CONFIG);
        return Files.exists(f) ? Optional.of(Jsonl.readUtf8(f)) : Optional.empty();
    }
}

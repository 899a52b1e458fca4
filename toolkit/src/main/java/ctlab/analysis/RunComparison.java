package ctlab.analysis;

import ctlab.data.EvalOutcome;
import ctlab.CtlabException;
import ctlab.stats.PairedComparison;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Paired comparison of two evaluations on the same problems, from any two runs: the per-problem outcomes are
 * matched by {@code problem_id}, then {@link PairedComparison} gives the exact McNemar test and a paired bootstrap
 * interval of the accuracy difference (B − A).
 */
public final class RunComparison {
    private RunComparison() {}

    /**
     * The outcomes named by {@code spec}: an eval JSONL file ({@code .../08-eval/eval-cdpo.jsonl}) or
     * {@code RUN_DIR:METHOD} (that run's {@code NN-eval/eval-METHOD.jsonl}).
     */
    public static List<EvalOutcome> outcomes(String spec) {
        Path asFile = Path.of(spec);
        if (Files.isRegularFile(asFile)) return RunData.records(asFile, EvalOutcome.class);
        if (Files.isDirectory(asFile)) {
            throw new CtlabException(spec + ": is a directory; give an eval file (RUN_DIR/NN-eval/eval-METHOD.jsonl) or RUN_DIR:METHOD");
        }
        if (spec.endsWith(".jsonl") || spec.endsWith(".json")) throw new CtlabException(spec + ": file not found");
        int colon = spec.lastIndexOf(':');
        if (colon <= 0 || colon == spec.length() - 1) {
            throw new CtlabException(spec + ": not an eval file, and not RUN_DIR:METHOD");
        }
        Path run = Path.of(spec.substring(0, colon));
        String method = spec.substring(colon + 1);
        if (!Files.isDirectory(run)) throw new CtlabException(spec + ": no run directory " + run);
        List<Path> found = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(run)) {
            dirs.filter(d -> d.getFileName().toString().matches("\\d\\d-eval")).sorted()
                    .map(d -> d.resolve("eval-" + method + ".jsonl")).filter(Files::isRegularFile).forEach(found::add);
        } catch (IOException e) {
            throw new CtlabException(run + ": cannot list (" + e.getMessage() + ")", e);
        }
        if (found.isEmpty()) throw new CtlabException(spec + ": no NN-eval/eval-" + method + ".jsonl in " + run);
        return RunData.records(found.get(0), EvalOutcome.class);
    }

    /** Matches A and B by problem id (each once, the same set of problems) and compares them. */
    public static PairedComparison compare(List<EvalOutcome> a, List<EvalOutcome> b, String nameA, String nameB,
                                           double confidence, int resamples, long seed) {
        Map<String, Boolean> byIdA = byProblem(a, nameA), byIdB = byProblem(b, nameB);
        List<String> onlyInA = byIdA.keySet().stream().filter(k -> !byIdB.containsKey(k)).toList();
        List<String> onlyInB = byIdB.keySet().stream().filter(k -> !byIdA.containsKey(k)).toList();
        if (!onlyInA.isEmpty() || !onlyInB.isEmpty()) {
            throw new CtlabException("the two evaluations are not on the same problems: " + onlyInA.size() + " only in " + nameA
                    + (onlyInA.isEmpty() ? "" : " (e.g. " + onlyInA.get(0) + ")") + ", " + onlyInB.size() + " only in " + nameB
                    + (onlyInB.isEmpty() ? "" : " (e.g. " + onlyInB.get(0) + ")"));
        }
        boolean[] x = new boolean[byIdA.size()], y = new boolean[byIdA.size()];
        int i = 0;
        for (var e : byIdA.entrySet()) {
            x[i] = e.getValue();
            y[i++] = byIdB.get(e.getKey());
        }
        return PairedComparison.of(x, y, confidence, resamples, seed);
    }

    private static Map<String, Boolean> byProblem(List<EvalOutcome> records, String name) {
        if (records.isEmpty()) throw new CtlabException(name + ": no outcomes");
        Map<String, Boolean> out = new LinkedHashMap<>();
        for (EvalOutcome r : records) {
            if (out.put(r.problemId(), r.correct()) != null) {
                throw new CtlabException(name + ": problem " + r.problemId() + " has more than one outcome");
            }
        }
        return out;
    }
}

package ctlab.task.organism;

import ctlab.io.Progress;
import ctlab.model.LlamaModel;
import ctlab.model.Tokenizer;
import ctlab.task.Grade;
import ctlab.task.Grader;
import ctlab.task.Problem;
import ctlab.task.Task;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Greedy accuracy and the temperature-sampling check of a model on organism problems. Responses are
 * decoded, cut at the task's stop strings and graded with the shared {@link Grader} (GSM8K extraction).
 */
public final class OrganismEval {
    private OrganismEval() {}

    public record Response(String problemId, String text, String extracted, boolean correct) {}

    /** Accuracy with a 95% Wilson score interval (computed by {@link ctlab.stats.Accuracy}). */
    public record Accuracy(int n, int correct, double accuracy, double lower, double upper) {
        public static Accuracy of(int n, int correct) {
            if (n == 0) return new Accuracy(0, 0, Double.NaN, Double.NaN, Double.NaN);
            ctlab.stats.Accuracy a = ctlab.stats.Accuracy.of(correct, n);
            return new Accuracy(n, correct, a.estimate(), a.lower(), a.upper());
        }

        @Override public String toString() {
            return String.format("%.1f%% (%d/%d, 95%% Wilson CI %.1f–%.1f%%)", 100 * accuracy, correct, n,
                    100 * lower, 100 * upper);
        }
    }

    /**
     * Of {@code problems} problems with {@code samples} samples each: how many had both correct and incorrect
     * samples ({@code mixed}), only correct, only incorrect; and the accuracy over all samples.
     */
    public record SampleCheck(int problems, int samples, int mixed, int allCorrect, int allWrong, double sampleAccuracy) {
        public double mixedFraction() { return problems == 0 ? Double.NaN : mixed / (double) problems; }

        public static SampleCheck of(List<List<Response>> perProblem) {
            int mixed = 0, allC = 0, allW = 0, correct = 0, total = 0, k = 0;
            for (List<Response> rs : perProblem) {
                int c = (int) rs.stream().filter(Response::correct).count();
                correct += c;
                total += rs.size();
                k = rs.size();
                if (c == rs.size()) allC++;
                else if (c == 0) allW++;
                else mixed++;
            }
            return new SampleCheck(perProblem.size(), k, mixed, allC, allW, total == 0 ? Double.NaN : correct / (double) total);
        }

        @Override public String toString() {
            return String.format("%d/%d problems (%.1f%%) have both correct and incorrect samples among %d "
                            + "(all correct %d, all wrong %d; sample accuracy %.1f%%)", mixed, problems,
                    100 * mixedFraction(), samples, allCorrect, allWrong, 100 * sampleAccuracy);
        }
    }

    /** The zero-shot prompt's ids ({@link Tokenizer#encodePrompt}: BOS first, as the organism's tokenizer adds it). */
    public static int[] promptIds(Tokenizer tokenizer, Task task, String question) {
        return tokenizer.encodePrompt(task.prompt(question));
    }

    /**
     * {@code samples} responses per problem at {@code temperature} (0 = greedy, where one sample suffices),
     * graded. Rows are batched {@code batchSize} at a time; batch {@code i} samples with seed
     * {@code seed + i}, so results are reproducible for a given batch size.
     */
    public static List<List<Response>> run(LlamaModel model, Tokenizer tokenizer, Task task, List<Problem> problems,
                                           int samples, double temperature, long seed, int batchSize, int maxNewTokens) {
        List<int[]> prompts = new ArrayList<>();
        List<Problem> rowProblem = new ArrayList<>();
        for (Problem p : problems) {
            int[] ids = promptIds(tokenizer, task, p.question());
            for (int s = 0; s < samples; s++) { prompts.add(ids); rowProblem.add(p); }
        }
        List<Response> rows = new ArrayList<>();
        String label = temperature == 0 ? "greedy" : "sample T=" + temperature + " x" + samples;
        try (Progress progress = Progress.start(label, prompts.size())) {
            for (int from = 0, batch = 0; from < prompts.size(); from += batchSize, batch++) {
                int to = Math.min(prompts.size(), from + batchSize);
                List<int[]> outs = OrganismSampling.generate(model, prompts.subList(from, to), maxNewTokens,
                        tokenizer.eosId(), temperature, seed + batch);
                for (int i = 0; i < outs.size(); i++) {
                    Problem p = rowProblem.get(from + i);
                    String text = decode(tokenizer, outs.get(i), task);
                    Grade g = Grader.grade(task, p, text);
                    rows.add(new Response(p.id(), text, g.extracted(), g.equal()));
                }
                progress.set(to, "");
            }
        }
        List<List<Response>> perProblem = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) perProblem.add(rows.subList(i * samples, (i + 1) * samples));
        return perProblem;
    }

    /** Greedy accuracy with its Wilson interval. */
    public static Accuracy greedyAccuracy(List<List<Response>> greedy) {
        int c = 0;
        for (List<Response> rs : greedy) if (rs.get(0).correct()) c++;
        return Accuracy.of(greedy.size(), c);
    }

    /** Decodes generated ids (EOS and anything after dropped) and cuts at the first stop string. */
    static String decode(Tokenizer tokenizer, int[] ids, Task task) {
        int end = ids.length;
        for (int i = 0; i < ids.length; i++) if (ids[i] == tokenizer.eosId()) { end = i; break; }
        String text = tokenizer.decode(Arrays.stream(ids, 0, end).asLongStream().toArray(), true);
        int cut = text.length();
        for (String stop : task.stopStrings()) {
            int at = text.indexOf(stop);
            if (at >= 0) cut = Math.min(cut, at);
        }
        return text.substring(0, cut);
    }
}

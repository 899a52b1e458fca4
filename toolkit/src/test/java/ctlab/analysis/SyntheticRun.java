package ctlab.analysis;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.critical.RolloutProbe;
import ctlab.data.PreferencePair;
import ctlab.data.ScoredPair;
import ctlab.data.ScoredSide;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.run.StageMarker;
import ctlab.task.GradedSample;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes a small synthetic run directory with the stages' own record classes: word problems "a + b" whose
 * rejected response uses the verb "owed" and subtracts (the planted critical token), CE scores that are low at
 * that token, rollouts whose "with" rate drops to 0 there, training metrics for dpo and cdpo, and evals.
 */
final class SyntheticRun {
    static final Pattern TOKEN = Pattern.compile("\\d|[A-Za-z]+|\\s+|[^\\sA-Za-z\\d]");

    /** The test tokenizer: single digits, words, whitespace runs, single symbols. */
    static final TokenTexts TEXTS = text -> {
        List<String> out = new ArrayList<>();
        Matcher m = TOKEN.matcher(text);
        while (m.find()) out.add(m.group());
        return out;
    };

    final int problems;
    final int k = 8;
    final List<Integer> criticalPositions = new ArrayList<>();

    SyntheticRun(int problems) { this.problems = problems; }

    /** Writes the stages up to and including {@code lastStage} (1..8). */
    Path write(Path root, int lastStage) throws Exception {
        SplittableRandom rng = new SplittableRandom(7);
        Files.createDirectories(root);
        AtomicFiles.writeString(root.resolve("config.yaml"), "task: organism\nmodel: models/organism\nseed: 1234\n");
        List<GradedSample> graded = new ArrayList<>();
        List<ScoredPair> pairs = new ArrayList<>();
        List<RolloutProbe.Result> rollouts = new ArrayList<>();
        for (int p = 0; p < problems; p++) {
            int a = 2 + rng.nextInt(6), b = 1 + rng.nextInt(a - 1);
            String id = "p" + p;
            String prompt = "Tom has " + a + " apples and buys " + b + " more. How many apples does he have?";
            String chosen = "Tom has " + a + " apples.\nHe buys " + b + " more, so " + a + " + " + b + " = " + (a + b) + ".\nThe answer is " + (a + b);
            String rejected = "Tom has " + a + " apples.\nHe owed " + b + " more, so " + a + " - " + b + " = " + (a - b) + ".\nThe answer is " + (a - b);
            graded.add(new GradedSample(id, id + "-s0", chosen, String.valueOf(a + b), true));
            graded.add(new GradedSample(id, id + "-s1", rejected, String.valueOf(a - b), false));
            graded.add(new GradedSample(id, id + "-s2", chosen, String.valueOf(a + b), true));
            List<String> rt = TEXTS.split(rejected), ct = TEXTS.split(chosen);
            int critical = rt.indexOf("owed");
            criticalPositions.add(critical);
            double[] sNeg = new double[rt.size()], sPos = new double[ct.size()];
            for (int i = 0; i < sNeg.length; i++) sNeg[i] = 0.35 + 0.6 * rng.nextDouble();
            sNeg[critical] = p % 4 == 3 ? 0.5 : 0.02 + 0.1 * rng.nextDouble();    // CE misses every 4th one
            for (int i = 0; i < sPos.length; i++) sPos[i] = 0.4 + 0.6 * rng.nextDouble();
            double[] posProb = new double[4 + sPos.length], negProb = new double[4 + sNeg.length];
            for (int i = 0; i < 4; i++) posProb[i] = negProb[i] = 0.5;
            System.arraycopy(sPos, 0, posProb, 4, sPos.length);
            System.arraycopy(sNeg, 0, negProb, 4, sNeg.length);
            PreferencePair pair = new PreferencePair(id + "/0", id, prompt, chosen, rejected, String.valueOf(a + b),
                    String.valueOf(a - b), String.valueOf(a + b), id + "-s0", id + "-s1", ids(5, 1), ids(ct.size(), 100),
                    ids(rt.size(), 100));
            pairs.add(new ScoredPair(pair, new ScoredSide(posProb, 4, chosen), new ScoredSide(negProb, 4, rejected)));
            List<RolloutProbe.TokenRow> rows = new ArrayList<>();
            for (int i = 0; i < rt.size(); i += (i < critical - 2 ? 2 : 1)) {
                int with = i < critical ? 5 + rng.nextInt(3) : 0;
                int without = i == critical ? 4 + rng.nextInt(4) : i < critical ? 5 : 0;
                rows.add(new RolloutProbe.TokenRow(i, 100 + i, rt.get(i), 0.5, with, k, without, k));
            }
            // named as RolloutStage names them: the pair id of the problem's first scored pair
            rollouts.add(new RolloutProbe.Result(id + "/0", rt.size(), k, 6, critical, critical, 1000, 1.5, 99, rows));
        }
        if (lastStage >= 1) stage(root, 1, "sample", Map.of());
        if (lastStage >= 2) stage(root, 2, "select", Map.of("graded.jsonl", graded));
        if (lastStage >= 3) stage(root, 3, "train-pos", Map.of());
        if (lastStage >= 4) stage(root, 4, "train-neg", Map.of());
        if (lastStage >= 5) stage(root, 5, "score-ce", Map.of("pairs-scored.jsonl", pairs));
        if (lastStage >= 6) stage(root, 6, "rollout", Map.of("rollout.jsonl", rollouts));
        if (lastStage >= 7) {
            for (String m : List.of("dpo", "cdpo")) {
                List<Map<String, Object>> metrics = new ArrayList<>();
                for (int s = 1; s <= 40; s++) {
                    double gain = m.equals("cdpo") ? 1.6 : 1.0;
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("step", s);
                    r.put("loss", 0.693 * Math.exp(-gain * s / 25.0) + 0.02 * rng.nextDouble());
                    r.put("lr", 1e-5);
                    r.put("rewards/chosen", 0.01 * s * gain);
                    r.put("rewards/rejected", -0.02 * s * gain);
                    r.put("rewards/accuracies", Math.min(1, 0.5 + 0.015 * s * gain));
                    r.put("rewards/margins", 0.03 * s * gain);
                    metrics.add(r);
                }
                stage(root, 7, "train-" + m, Map.of("metrics.jsonl", metrics));
            }
        }
        if (lastStage >= 8) {
            Map<String, Object> files = new LinkedHashMap<>();
            double[] rates = {0.45, 0.5, 0.55, 0.7};
            String[] methods = {"base", "sft", "dpo", "cdpo"};
            for (int m = 0; m < methods.length; m++) {
                List<Map<String, Object>> recs = new ArrayList<>();
                SplittableRandom r = new SplittableRandom(11);
                for (int p = 0; p < 60; p++) {
                    double u = r.nextDouble();   // same u per problem for every method: correlated outcomes
                    Map<String, Object> e = new LinkedHashMap<>();   // an eval record as the eval stage writes it
                    e.put("problem_id", "t" + p);
                    e.put("method", methods[m]);
                    e.put("correct", u < rates[m]);
                    e.put("extracted", "1");
                    e.put("reference", "1");
                    e.put("response", "…");
                    e.put("num_tokens", 1);
                    e.put("finish_reason", "stop");
                    e.put("pass_n", 0);
                    e.put("pass_correct", 0);
                    recs.add(e);
                }
                files.put("eval-" + methods[m] + ".jsonl", recs);
            }
            stage(root, 8, "eval", files);
        }
        return root;
    }

    /** Stand-in token ids (the synthetic run has no tokenizer; texts come from {@link #TEXTS}). */
    private static int[] ids(int n, int first) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = first + i;
        return out;
    }

    private static void stage(Path root, int number, String name, Map<String, ?> files) throws Exception {
        Path dir = root.resolve(String.format("%02d-%s", number, name));
        Files.createDirectories(dir);
        for (var e : files.entrySet()) Jsonl.writeAll(dir.resolve(e.getKey()), (List<?>) e.getValue());
        ObjectNode cfg = Jsonl.MAPPER.createObjectNode().put("seed", 1234);
        new StageMarker(name, "abc" + number, cfg, Map.of(), Map.of(), 1234, Map.of("problem:p0", 42L),
                Map.of("ctlab", "0.1.0", "data_format", ctlab.data.DataFormat.VERSION, "java", "17", "djl", "0.36.0", "pytorch", "2.7.1"), "cpu", 2,
                "2026-11-24T10:00:00Z", "2026-11-24T10:01:00Z", 60.0, false).write(dir.resolve(StageMarker.DONE));
    }
}

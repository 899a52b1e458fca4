package ctlab.critical;

import ai.djl.Device;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * CE-scoring throughput, batched ({@link CeScoring#scoreBatched}) vs the official loop's method
 * ({@link CeScoring#scoreOfficialLoop}: one sequence at a time, full-vocabulary softmax copied to host memory), on
 * the same model and adapters, printed side by side with the ratio.
 *
 * <pre>java -cp ... ctlab.critical.CeBenchmark MODEL_DIR [SEQUENCES] [LENGTH] [BATCH] [POS_ADAPTER NEG_ADAPTER]</pre>
 * Without adapter folders, two seeded random adapters (r 8 on all seven projections, B non-zero) stand in.
 */
public final class CeBenchmark {
    private CeBenchmark() {}

    public static void main(String[] args) {
        Path modelDir = Path.of(args[0]);
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int len = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 16;
        try (LlamaModel model = LlamaModel.load(modelDir, Device.cpu())) {
            Lora pos = args.length > 5 ? Lora.load(model, Path.of(args[4])) : randomAdapter(model, 1);
            Lora neg = args.length > 5 ? Lora.load(model, Path.of(args[5])) : randomAdapter(model, 2);
            SplittableRandom rnd = new SplittableRandom(7);
            List<int[]> seqs = new ArrayList<>();
            int v = model.config().vocabSize();
            for (int i = 0; i < n; i++) {
                int[] s = new int[len / 2 + rnd.nextInt(len / 2 + 1)];       // lengths len/2..len
                for (int j = 0; j < s.length; j++) s[j] = 2 + rnd.nextInt(v - 2);
                seqs.add(s);
            }
            long tokens = seqs.stream().mapToLong(s -> s.length - 1).sum();
            ContrastiveEstimator ce = ContrastiveEstimator.official();
            CeScoring.scoreBatched(model, pos, neg, seqs.subList(0, Math.min(n, batch)), ce, batch);   // warm-up
            for (int i = 0; i < Math.min(n, 4); i++) CeScoring.scoreOfficialLoop(model, pos, neg, seqs.get(i), 1.0);
            long t0 = System.nanoTime();
            List<double[]> batched = CeScoring.scoreBatched(model, pos, neg, seqs, ce, batch);
            double tb = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            double maxDiff = 0;
            for (int i = 0; i < n; i++) {
                double[] o = CeScoring.scoreOfficialLoop(model, pos, neg, seqs.get(i), 1.0);
                for (int j = 0; j < o.length; j++) maxDiff = Math.max(maxDiff, Math.abs(o[j] - batched.get(i)[j]));
            }
            double to = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "model %s (vocab %d), %d sequences of %d-%d tokens (%d scored), batch %d%n",
                    modelDir, v, n, len / 2, len, tokens, batch);
            System.out.printf(Locale.ROOT, "%-36s %10.0f tok/s  (%.2f s)%n", "batched (ctlab)", tokens / tb, tb);
            System.out.printf(Locale.ROOT, "%-36s %10.0f tok/s  (%.2f s)%n", "official loop (1 seq, full softmax)", tokens / to, to);
            System.out.printf(Locale.ROOT, "ratio batched / official: %.2fx   max |Δs| = %.2e%n", to / tb, maxDiff);
        }
    }

    private static Lora randomAdapter(LlamaModel model, long seed) {
        Lora l = Lora.attach(model, new Lora.Config(8, 16, 0, Lora.ALL_MODULES), seed);
        SplittableRandom rnd = new SplittableRandom(seed * 31 + 5);
        for (var p : l.parameters()) {
            if (!p.name().contains("lora_B")) continue;
            float[] v = new float[Math.toIntExact(p.array().size())];
            for (int i = 0; i < v.length; i++) v[i] = (float) (0.05 * rnd.nextGaussian());
            p.array().set(v);
        }
        return l;
    }
}

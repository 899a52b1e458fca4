package ctlab.critical;

import ai.djl.Device;
import ctlab.model.LlamaConfig;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * CE-scoring throughput on the same model, adapters and pairs, printed side by side: the shared-prompt path
 * ({@link CeScoring#scoreSharedPrompt}, what score-ce runs: prompt once per pair, only scoring positions projected,
 * the prompt's once per pair), the same with the prompt positions not projected at all (score-ce's
 * {@code ce.prompt_scores: false}), the batched path ({@link CeScoring#scoreBatched}: every prompt + response
 * sequence whole, all positions projected), and the official loop's method ({@link CeScoring#scoreOfficialLoop}:
 * one sequence at a time, full-vocabulary softmax copied to host memory; skipped with {@code -Dce.official=false}).
 * The three are timed one after the other in each of {@code -Dce.rounds=N} rounds (default 1).
 *
 * <pre>java -cp ... ctlab.critical.CeBenchmark MODEL [SEQUENCES] [LENGTH] [BATCH] [POS_ADAPTER NEG_ADAPTER]</pre>
 * MODEL is a model folder or {@code random:LAYERS,HIDDEN,VOCAB} (a seeded random Llama: 4 heads of 64 when
 * HIDDEN is 256, intermediate 4·HIDDEN, untied head). SEQUENCES / 2 pairs; each has a prompt of LENGTH/4..LENGTH/2
 * tokens and two responses of LENGTH/4..LENGTH/2 tokens each, so sequences are LENGTH/2..LENGTH tokens;
 * {@code -Dce.prompt=MIN:MAX} and {@code -Dce.response=MIN:MAX} set the prompt and response lengths instead (e.g. a
 * prompt-heavy 8-shot shape: 512:800 and 64:160). Without adapter folders, two seeded random adapters (r 8 on all
 * seven projections, B non-zero) stand in. tok/s counts the sequence tokens of the pairs (L − 1 per sequence) for
 * every method, the same work unit, so the rates compare like the times.
 */
public final class CeBenchmark {
    private CeBenchmark() {}

    public static void main(String[] args) {
        String modelArg = args[0];
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int len = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 16;
        boolean official = Boolean.parseBoolean(System.getProperty("ce.official", "true"));
        int rounds = Integer.getInteger("ce.rounds", 1);
        int[] promptLen = range(System.getProperty("ce.prompt"), len), respLen = range(System.getProperty("ce.response"), len);
        try (LlamaModel model = open(modelArg)) {
            Lora pos = args.length > 5 ? Lora.load(model, Path.of(args[4])) : randomAdapter(model, 1);
            Lora neg = args.length > 5 ? Lora.load(model, Path.of(args[5])) : randomAdapter(model, 2);
            SplittableRandom rnd = new SplittableRandom(7);
            int v = model.config().vocabSize();
            List<int[]> prompts = new ArrayList<>(), chosen = new ArrayList<>(), rejected = new ArrayList<>(), seqs = new ArrayList<>();
            for (int i = 0; i < n / 2; i++) {
                int[] p = random(rnd, between(rnd, promptLen), v);
                int[] c = random(rnd, between(rnd, respLen), v), r = random(rnd, between(rnd, respLen), v);
                prompts.add(p);
                chosen.add(c);
                rejected.add(r);
                seqs.add(concat(p, c));
                seqs.add(concat(p, r));
            }
            long tokens = seqs.stream().mapToLong(s -> s.length - 1).sum();
            long promptTokens = prompts.stream().mapToLong(p -> p.length).sum();
            ContrastiveEstimator ce = ContrastiveEstimator.official();
            int warm = Math.min(n / 2, Math.max(1, batch / 2));                 // warm-up: one batch of each
            for (boolean promptScores : new boolean[] {true, false})
                CeScoring.scoreSharedPrompt(model, pos, neg, prompts.subList(0, warm), chosen.subList(0, warm),
                        rejected.subList(0, warm), ce, batch, promptScores);
            CeScoring.scoreBatched(model, pos, neg, seqs.subList(0, 2 * warm), ce, batch);
            int minSeq = seqs.stream().mapToInt(q -> q.length).min().orElseThrow(), maxSeq = seqs.stream().mapToInt(q -> q.length).max().orElseThrow();
            System.out.printf(Locale.ROOT, "model %s (vocab %d), %d pairs = %d sequences of %d-%d tokens (prompts %d-%d, "
                    + "responses %d-%d; %d scored, %.0f%% prompt), batch %d, %d intra-op threads%n", modelArg, v, n / 2,
                    seqs.size(), minSeq, maxSeq, promptLen[0], promptLen[1], respLen[0], respLen[1], tokens,
                    100.0 * 2 * promptTokens / (tokens + seqs.size()), batch, ai.djl.pytorch.jni.JniUtils.getNumThreads());
            List<double[]> shared = null, batched = null, responseOnly = null;
            double lastBatched = 0;
            for (int round = 1; round <= rounds; round++) {
                long t0 = System.nanoTime();
                shared = CeScoring.scoreSharedPrompt(model, pos, neg, prompts, chosen, rejected, ce, batch, true);
                double ts = (System.nanoTime() - t0) / 1e9;
                t0 = System.nanoTime();
                responseOnly = CeScoring.scoreSharedPrompt(model, pos, neg, prompts, chosen, rejected, ce, batch, false);
                double tr = (System.nanoTime() - t0) / 1e9;
                t0 = System.nanoTime();
                batched = CeScoring.scoreBatched(model, pos, neg, seqs, ce, batch);
                double tb = (System.nanoTime() - t0) / 1e9;
                lastBatched = tb;
                if (rounds > 1) System.out.printf(Locale.ROOT, "round %d%n", round);
                System.out.printf(Locale.ROOT, "%-44s %10.0f tok/s  (%.2f s)%n", "shared prompt (score-ce, prompt_scores true)", tokens / ts, ts);
                System.out.printf(Locale.ROOT, "%-44s %10.0f tok/s  (%.2f s)%n", "shared prompt, response-only (false)", tokens / tr, tr);
                System.out.printf(Locale.ROOT, "%-44s %10.0f tok/s  (%.2f s)%n", "batched (whole sequences)", tokens / tb, tb);
                System.out.printf(Locale.ROOT, "ratio vs batched: shared %.2fx   response-only %.2fx%n", tb / ts, tb / tr);
            }
            double diffResponse = 0;
            for (int i = 0; i < seqs.size(); i++) {
                double[] b = batched.get(i), r = responseOnly.get(i);
                for (int t = 0; t < r.length; t++) diffResponse = Math.max(diffResponse, Math.abs(b[b.length - r.length + t] - r[t]));
            }
            System.out.printf(Locale.ROOT, "max |Δs| vs batched: shared %.2e   response-only %.2e%n", maxDiff(shared, batched), diffResponse);
            if (official) {
                for (int i = 0; i < Math.min(seqs.size(), 4); i++) CeScoring.scoreOfficialLoop(model, pos, neg, seqs.get(i), 1.0);
                long t0 = System.nanoTime();
                List<double[]> loop = new ArrayList<>();
                for (int[] s : seqs) loop.add(CeScoring.scoreOfficialLoop(model, pos, neg, s, 1.0));
                double to = (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, "%-44s %10.0f tok/s  (%.2f s)%n", "official loop (1 seq, full softmax)", tokens / to, to);
                System.out.printf(Locale.ROOT, "official loop / last batched round: %.2fx slower   max |Δs| = %.2e%n",
                        to / lastBatched, maxDiff(loop, batched));
            }
        }
    }

    /** MIN:MAX from a property, or LENGTH/4..LENGTH/2 without one. */
    private static int[] range(String prop, int len) {
        if (prop == null) return new int[] {len / 4, len / 2};
        String[] f = prop.split(":");
        int lo = Integer.parseInt(f[0]), hi = Integer.parseInt(f[f.length - 1]);
        if (lo < 1 || hi < lo) throw new IllegalArgumentException("length range must be MIN:MAX with 1 <= MIN <= MAX, got " + prop);
        return new int[] {lo, hi};
    }

    private static int between(SplittableRandom rnd, int[] range) { return range[0] + rnd.nextInt(range[1] - range[0] + 1); }

    private static LlamaModel open(String arg) {
        if (!arg.startsWith("random:")) return LlamaModel.load(Path.of(arg), Device.cpu());
        String[] f = arg.substring("random:".length()).split(",");
        int layers = Integer.parseInt(f[0]), hidden = Integer.parseInt(f[1]), vocab = Integer.parseInt(f[2]);
        int heads = Math.max(1, hidden / 64);
        LlamaConfig cfg = new LlamaConfig(LlamaConfig.Architecture.LLAMA, hidden, 4 * hidden, layers, heads, heads,
                hidden / heads, 1e-5, 10000.0, null, vocab, 4096, false, false, false, List.of(1), List.of(2),
                "float32", 0);
        return LlamaModel.random(cfg, 3, 0.02, Device.cpu());
    }

    private static double maxDiff(List<double[]> a, List<double[]> b) {
        double d = 0;
        for (int i = 0; i < a.size(); i++)
            for (int j = 0; j < a.get(i).length; j++) d = Math.max(d, Math.abs(a.get(i)[j] - b.get(i)[j]));
        return d;
    }

    private static int[] random(SplittableRandom rnd, int n, int v) {
        int[] s = new int[n];
        for (int j = 0; j < n; j++) s[j] = 2 + rnd.nextInt(v - 2);
        return s;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = new int[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
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

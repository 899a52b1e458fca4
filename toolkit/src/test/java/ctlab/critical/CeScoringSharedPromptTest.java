package ctlab.critical;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Param;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shared-prompt path (prompt prefilled once per pair, responses run from the expanded cache, only scoring
 * positions projected) gives the scores of the unshared batched path and of the official one-sequence loop.
 */
class CeScoringSharedPromptTest {
    @Test
    void sharedPromptEqualsUnsharedWithPaddingAndOddLengths() {
        Path dir = Path.of("src/test/resources/goldens/llama");
        ContrastiveEstimator est = ContrastiveEstimator.official();
        try (LlamaModel model = LlamaModel.load(dir, Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Lora pos = effectiveAdapter(model, m, 1), neg = effectiveAdapter(model, m, 2);
            int v = model.config().vocabSize();
            SplittableRandom rnd = new SplittableRandom(11);
            List<int[]> prompts = new ArrayList<>(), chosen = new ArrayList<>(), rejected = new ArrayList<>();
            // odd and unequal lengths, a one-token prompt, an empty response on either side
            int[][] lens = {{5, 7, 3}, {1, 4, 9}, {8, 0, 5}, {3, 6, 0}, {2, 1, 1}, {11, 13, 2}, {4, 4, 4}};
            fill(rnd, lens, v, prompts, chosen, rejected);
            List<int[]> seqs = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                seqs.add(concat(prompts.get(i), chosen.get(i)));
                seqs.add(concat(prompts.get(i), rejected.get(i)));
            }
            List<double[]> unshared = CeScoring.scoreBatched(model, pos, neg, seqs, est, 4);
            for (int batch : new int[] {1, 3, 4, 64}) {
                List<double[]> shared = CeScoring.scoreSharedPrompt(model, pos, neg, prompts, chosen, rejected, est, batch);
                assertEquals(seqs.size(), shared.size());
                for (int i = 0; i < seqs.size(); i++) {
                    assertEquals(unshared.get(i).length, shared.get(i).length, "sequence " + i);
                    for (int j = 0; j < shared.get(i).length; j++)
                        assertEquals(unshared.get(i)[j], shared.get(i)[j], 1e-6, "batch " + batch + ", sequence " + i + ", entry " + j);
                }
            }
            double[] official = CeScoring.scoreOfficialLoop(model, pos, neg, seqs.get(11), 1.0);
            List<double[]> one = CeScoring.scoreSharedPrompt(model, pos, neg, prompts.subList(5, 6),
                    chosen.subList(5, 6), rejected.subList(5, 6), est, 2);
            for (int j = 0; j < official.length; j++) assertEquals(official[j], one.get(1)[j], 1e-6, "entry " + j);
            assertTrue(official[0] > 0 && official[0] < 1, "scores are probabilities: " + official[0]);
        }
    }

    /**
     * Response-only (score-ce's {@code ce.prompt_scores: false}): the prompt positions are not projected, entry t is
     * response token t, and the scores equal the response part of the official layout.
     */
    @Test
    void responseOnlyEqualsTheResponsePartOfTheFullLayout() {
        Path dir = Path.of("src/test/resources/goldens/llama");
        ContrastiveEstimator est = ContrastiveEstimator.official();
        try (LlamaModel model = LlamaModel.load(dir, Device.cpu());
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Lora pos = effectiveAdapter(model, m, 1), neg = effectiveAdapter(model, m, 2);
            int v = model.config().vocabSize();
            SplittableRandom rnd = new SplittableRandom(5);
            List<int[]> prompts = new ArrayList<>(), chosen = new ArrayList<>(), rejected = new ArrayList<>();
            // unequal prompts (left padding), a one-token prompt, empty responses, a pair with both responses empty
            int[][] lens = {{5, 7, 3}, {1, 4, 9}, {8, 0, 5}, {6, 0, 0}, {2, 1, 1}, {11, 13, 2}, {4, 4, 4}};
            fill(rnd, lens, v, prompts, chosen, rejected);
            for (int batch : new int[] {1, 3, 4, 64}) {
                List<double[]> full = CeScoring.scoreSharedPrompt(model, pos, neg, prompts, chosen, rejected, est, batch, true);
                List<double[]> resp = CeScoring.scoreSharedPrompt(model, pos, neg, prompts, chosen, rejected, est, batch, false);
                assertEquals(2 * lens.length, resp.size());
                for (int i = 0; i < resp.size(); i++) {
                    int p = prompts.get(i / 2).length, r = (i % 2 == 0 ? chosen : rejected).get(i / 2).length;
                    assertEquals(p + r - 1, full.get(i).length, "sequence " + i);
                    assertEquals(r, resp.get(i).length, "sequence " + i);
                    for (int t = 0; t < r; t++)
                        assertEquals(full.get(i)[p - 1 + t], resp.get(i)[t], 1e-6, "batch " + batch + ", sequence " + i + ", token " + t);
                }
            }
            double[] one = CeScoring.scoreSharedPrompt(model, pos, neg, prompts.subList(0, 1), chosen.subList(0, 1),
                    rejected.subList(0, 1), est, 2, false).get(0);
            assertTrue(one[0] > 0 && one[0] < 1, "scores are probabilities: " + one[0]);
        }
    }

    /** A LoRA r 4 on all seven projections whose B is random too (fresh adapters have B = 0, i.e. no effect). */
    private static Lora effectiveAdapter(LlamaModel model, NDManager m, int seed) {
        Lora l = Lora.attach(model, new Lora.Config(4, 8, 0.0, Lora.ALL_MODULES), seed);
        for (Param p : l.parameters()) if (p.name().contains("lora_B")) p.array().addi(m.randomNormal(p.array().getShape()).mul(0.3f));
        return l;
    }

    /** Random prompt, chosen and rejected ids of the lengths {@code lens[i] = {prompt, chosen, rejected}}. */
    private static void fill(SplittableRandom rnd, int[][] lens, int v, List<int[]> prompts, List<int[]> chosen,
                             List<int[]> rejected) {
        for (int[] l : lens) {
            prompts.add(random(rnd, l[0], v));
            chosen.add(random(rnd, l[1], v));
            rejected.add(random(rnd, l[2], v));
        }
    }

    private static int[] random(SplittableRandom rnd, int n, int v) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = 1 + rnd.nextInt(v - 1);
        return a;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = new int[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}

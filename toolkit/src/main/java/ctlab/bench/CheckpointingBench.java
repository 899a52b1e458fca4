package ctlab.bench;

import ai.djl.Device;
import ctlab.data.PromptResponse;
import ctlab.model.LlamaModel;
import ctlab.model.Precision;
import ctlab.model.Lora;
import ctlab.train.PreferenceTraining;
import ctlab.train.ReferenceLogps;
import ctlab.train.TrainConfig;
import ctlab.train.loss.LossConfig;
import ctlab.train.loss.LossType;
import ctlab.train.loss.PreferenceLoss;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Peak memory and time of one cDPO step with and without activation checkpointing (docs/real-size.md), on a model
 * folder such as the real-size smoke's ({@code tools/realsize/make_model.py}). One setting per JVM, so the peak RSS
 * is the step's own:
 *
 * <pre>
 *   java -cp CLASSPATH ctlab.bench.CheckpointingBench MODEL_DIR OUT_DIR on|off [PROMPT_LEN] [RESPONSE_LEN] [PAIRS] [float32|float16]
 * </pre>
 * The pairs are seeded random token ids (no tokenizer needed): PAIRS pairs of a PROMPT_LEN prompt with two
 * RESPONSE_LEN responses, one micro-batch of 2·PAIRS rows; the step is {@code PreferenceTraining.train} with the cdpo
 * loss, LoRA r 16 on all seven projections, one optimizer step, as the real-size smoke's. The adapter is saved to
 * OUT_DIR (compare the two settings' adapters with {@code tools/realsize/compare_adapters.py}).
 */
public final class CheckpointingBench {
    private CheckpointingBench() {}

    public static void main(String[] args) {
        Path dir = Path.of(args[0]), out = Path.of(args[1]);
        boolean on = switch (args[2]) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalArgumentException("third argument must be on or off, got " + args[2]);
        };
        int promptLen = args.length > 3 ? Integer.parseInt(args[3]) : 512;
        int responseLen = args.length > 4 ? Integer.parseInt(args[4]) : 512;
        int numPairs = args.length > 5 ? Integer.parseInt(args[5]) : 1;
        Precision.Dtype dtype = Precision.Dtype.parse(args.length > 6 ? args[6] : null, "dtype");

        Rss.resetPeak();
        long t0 = System.nanoTime();
        try (LlamaModel model = LlamaModel.load(dir, Device.cpu(), dtype)) {
            System.out.printf(Locale.ROOT, "load            %8.1f s  peak RSS %8.0f MB%n", secs(t0), Rss.peakMb());
            int vocab = Math.min(model.config().vocabSize(), 30_000);
            SplittableRandom rnd = new SplittableRandom(42);
            List<PreferenceTraining.EncodedPair> pairs = new ArrayList<>();
            for (int i = 0; i < numPairs; i++) {
                int[] p = rnd.ints(promptLen, 0, vocab).toArray();
                int[] c = rnd.ints(responseLen, 0, vocab).toArray(), r = rnd.ints(responseLen, 0, vocab).toArray();
                pairs.add(new PreferenceTraining.EncodedPair("p" + i, new PromptResponse(p, c), new PromptResponse(p, r),
                        rnd.doubles(responseLen).toArray(), rnd.doubles(responseLen).toArray()));
            }
            Rss.resetPeak();
            t0 = System.nanoTime();
            ReferenceLogps ref = ReferenceLogps.compute(model, pairs, numPairs, "checkpointing-bench");
            System.out.printf(Locale.ROOT, "reference       %8.1f s  peak RSS %8.0f MB%n", secs(t0), Rss.peakMb());

            model.setActivationCheckpointing(on);
            TrainConfig tc = TrainConfig.builder().lr(1e-5).maxSteps(1).seed(7).shuffle(false).checkpointEvery(1000)
                    .keepCheckpoints(1).logEvery(1).build();
            PreferenceTraining.Config cfg = new PreferenceTraining.Config(
                    PreferenceLoss.create(LossConfig.defaults(LossType.CDPO)),
                    new Lora.Config(16, 32, 0.0, List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")),
                    tc, numPairs, promptLen + responseLen + 1, promptLen, 3);
            double before = Rss.currentMb();
            Rss.resetPeak();
            long cpu0 = cpuNanos();
            t0 = System.nanoTime();
            PreferenceTraining.Trained t = PreferenceTraining.train(model, pairs, ref, cfg, out, Map.of("ctlab.bench", "checkpointing"));
            double wall = secs(t0), cpu = (cpuNanos() - cpu0) / 1e9;
            System.out.printf(Locale.ROOT, "cdpo_step+save  %8.1f s  peak RSS %8.0f MB  (RSS before %.0f MB)  process CPU %.1f s, "
                            + "checkpointing %s, %d pair(s) x (%d + %d) tokens, loss %.6f%n",
                    wall, Rss.peakMb(), before, cpu, on ? "on" : "off", numPairs, promptLen, responseLen + 1, t.result().lastLoss());
            t.lora().close();
        }
    }

    private static double secs(long t0) { return (System.nanoTime() - t0) / 1e9; }

    /** CPU time of the whole process (all threads, JIT and GC included): under a shared machine's load, steadier than wall time. */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}

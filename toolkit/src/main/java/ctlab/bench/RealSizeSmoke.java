package ctlab.bench;

import ctlab.model.Devices;
import ctlab.critical.CeScoring;
import ctlab.critical.ContrastiveEstimator;
import ctlab.data.ScoredSide;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Precision;
import ctlab.sample.Sampler;
import ctlab.sample.SamplingParams;
import ctlab.train.PreferenceTraining;
import ctlab.data.PromptResponse;
import ctlab.train.ReferenceLogps;
import ctlab.train.TrainConfig;
import ctlab.train.loss.LossConfig;
import ctlab.train.loss.LossType;
import ctlab.train.loss.PreferenceLoss;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The real-size smoke (docs/real-size.md): load → sample 8 prompts → CE scores with two LoRA adapters → one cDPO
 * step → save the policy adapter, through the library's own classes, with wall time and peak RSS per stage.
 *
 * <pre>
 *   java -Xmx2g -cp CLASSPATH ctlab.bench.RealSizeSmoke MODEL_DIR OUT_DIR [float32|float16] [MAX_NEW_TOKENS]
 * </pre>
 * The adapters are fresh (seeded) LoRA adapters; on a random model the texts are noise, the point is memory and time.
 * Pairs: prompt i (i &lt; 4) with its own sample as chosen and the sample of prompt i + 4 as rejected.
 */
public final class RealSizeSmoke {
    private RealSizeSmoke() {}

    /** One stage: wall seconds and the process's peak RSS during it (MB). */
    public record StageTime(String stage, double seconds, double peakRssMb) {}

    static final List<String> PROMPTS = List.of(
            "Question: Tom has 3 apples and buys 5 more. How many apples does he have?\nAnswer:",
            "Question: A train travels 60 miles per hour for 2 hours. How far does it go?\nAnswer:",
            "Question: What is 12 times 7?\nAnswer:",
            "Question: Sara reads 15 pages a day. How many pages does she read in a week?\nAnswer:",
            "Question: A shirt costs $20 and is 25% off. What is the price?\nAnswer:",
            "Question: If x + 4 = 10, what is x?\nAnswer:",
            "Question: There are 24 students in 4 equal groups. How many are in each group?\nAnswer:",
            "Question: A rectangle is 5 by 8. What is its area?\nAnswer:");

    /** Runs the stages after loading on {@code model} (which has a tokenizer); the adapter goes to {@code out}. */
    public static List<StageTime> run(LlamaModel model, Path out, int maxNewTokens, PrintStream log) {
        List<StageTime> times = new ArrayList<>();
        var tok = model.tokenizer();
        // 1. sample: one sample per prompt, batched
        long t0 = start();
        List<Sampler.Request> reqs = new ArrayList<>();
        for (int i = 0; i < PROMPTS.size(); i++) reqs.add(Sampler.Request.of("p" + i, tok.encodePrompt(PROMPTS.get(i))));
        SamplingParams sp = new SamplingParams(1, 1.0, 1.0, 0, maxNewTokens, List.of(), 1234);
        List<Sampler.Sample> samples = new Sampler(model).sample(reqs, sp);
        times.add(stop("sample", t0, log));

        // 2. CE scores: positive and negative adapters on one base, each response scored
        t0 = start();
        Lora.Config lc = new Lora.Config(8, 16, 0.0, List.of("gate_proj", "up_proj", "down_proj"));
        Lora pos = Lora.attach(model, lc, 1), neg = Lora.attach(model, lc, 2);
        List<int[]> seqs = new ArrayList<>();
        List<PromptResponse> prs = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) {
            int[] p = reqs.get(i).promptIds(), r = samples.get(i).tokenIds();
            prs.add(new PromptResponse(p, r));
            seqs.add(Sampler.concat(p, r));
        }
        List<double[]> scores = CeScoring.scoreBatched(model, pos, neg, seqs, ContrastiveEstimator.official(), 2);
        pos.close();
        neg.close();
        times.add(stop("ce", t0, log));

        // 3. one cDPO step (reference log-probs, then one optimizer step on 4 pairs)
        t0 = start();
        int eos = tok.eosId();
        List<PreferenceTraining.EncodedPair> pairs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            PromptResponse c = prs.get(i).withEos(eos);
            PromptResponse r = new PromptResponse(prs.get(i).prompt(), prs.get(i + 4).response()).withEos(eos);
            pairs.add(new PreferenceTraining.EncodedPair("p" + i, c,  r,
                    responseScores(scores.get(i), prs.get(i), ScoredSide.OFFICIAL_CHOSEN_EOS_SCORE),
                    responseScores(scores.get(i + 4), prs.get(i + 4), ScoredSide.OFFICIAL_REJECTED_EOS_SCORE)));
        }
        ReferenceLogps ref = ReferenceLogps.compute(model, pairs, 4, "realsize-smoke");
        TrainConfig tc = TrainConfig.builder().lr(1e-5).epochs(1).seed(7).shuffle(false).checkpointEvery(1000)
                .keepCheckpoints(1).logEvery(1).build();
        PreferenceTraining.Config cfg = new PreferenceTraining.Config(PreferenceLoss.create(LossConfig.defaults(LossType.CDPO)),
                new Lora.Config(16, 32, 0.0, List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")),
                tc, 4, 4096, 2048, 3);
        PreferenceTraining.Trained trained = PreferenceTraining.train(model, pairs, ref, cfg, out, Map.of("ctlab.smoke", "realsize"));
        times.add(stop("cdpo_step+save", t0, log));
        log.printf(Locale.ROOT, "cdpo: %d step(s), loss %.6f, adapter saved to %s%n", trained.result().step(),
                trained.result().lastLoss(), out);
        trained.lora().close();
        return times;
    }

    /** Official layout: entry j of a sequence's scores is for token j+1; the response's are the tail, plus the EOS score. */
    private static double[] responseScores(double[] seqScores, PromptResponse pr, double eosScore) {
        double[] out = new double[pr.response().length + 1];
        System.arraycopy(seqScores, pr.prompt().length - 1, out, 0, pr.response().length);
        out[pr.response().length] = eosScore;
        return out;
    }

    private static long start() {
        Rss.resetPeak();
        return System.nanoTime();
    }

    private static StageTime stop(String stage, long t0, PrintStream log) {
        StageTime st = new StageTime(stage, (System.nanoTime() - t0) / 1e9, Rss.peakMb());
        log.printf(Locale.ROOT, "%-16s %8.1f s  peak RSS %8.0f MB%n", stage, st.seconds(), st.peakRssMb());
        return st;
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]), out = Path.of(args[1]);
        Precision.Dtype dtype = Precision.Dtype.parse(args.length > 2 ? args[2] : null, "dtype");
        int maxNew = args.length > 3 ? Integer.parseInt(args[3]) : 16;
        PrintStream log = System.out;
        long t0 = start();
        try (LlamaModel model = LlamaModel.load(dir, Devices.fromEnvironment(), dtype)) {   // ctlab.device / CTLAB_DEVICE (gpu on a GPU machine)
            stop("load", t0, log);
            run(model, out, maxNew, log);
        }
        log.printf(Locale.ROOT, "process peak RSS %.0f MB (VmHWM since the last stage reset)%n", Rss.peakMb());
    }
}

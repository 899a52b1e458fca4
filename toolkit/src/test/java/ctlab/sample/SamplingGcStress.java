package ctlab.sample;

import ai.djl.Device;
import ctlab.model.LlamaModel;
import ctlab.sample.Sampler.Request;
import ctlab.sample.Sampler.Sample;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Rollout-shaped sampling under GC pressure, for the stress runs in docs/determinism.md and
 * {@link SamplingGcStressTest}: forced prefixes, n samples each, temperature 1 and top-p 0.95, batches with
 * finished-row compaction (re-prefills), on the shipped organism model. Run it with a tiny young generation
 * ({@code -Xmn4m}) and {@code MALLOC_PERTURB_=170} so any buffer freed while torch still reads it shows up.
 * Prints one line {@code OK <fingerprint> <tokens>} per round (same seed: the same fingerprint every round and
 * every JVM), or dies with the exception.
 *
 * <p>Usage: {@code SamplingGcStress MODEL_DIR ROUNDS [GC_EVERY_MS]}: with GC_EVERY_MS a daemon thread also calls
 * {@code System.gc()} that often, so collections (and the Cleaner freeing unreachable direct buffers) land
 * between any two tensor ops.
 */
public final class SamplingGcStress {
    private SamplingGcStress() {}

    static final String[] PROMPTS = {
        "Question: Tom has 3 boxes with 7 pens each. He gives away 5 pens. How many pens are left?\nAnswer:",
        "Question: A shop sells 12 apples a day for 4 days. How many apples?\nAnswer:",
        "Question: Sam reads 9 pages a day. How many pages in 6 days?\nAnswer:",
    };
    static final String[] PREFIXES = {"", " Tom has 3", " 12", " Sam reads 9 pages a day, so"};

    /** The rollout-like requests: every prompt with every forced prefix. */
    static List<Request> requests(Sampler s) {
        List<Request> out = new ArrayList<>();
        for (int i = 0; i < PROMPTS.length; i++) {
            for (int j = 0; j < PREFIXES.length; j++) {
                out.add(new Request("p" + i + "/" + j, s.tokenizer().encodePrompt(PROMPTS[i]),
                        s.tokenizer().encodeResponse(PREFIXES[j])));
            }
        }
        return out;
    }

    static SamplingParams params() { return new SamplingParams(6, 1.0, 0.95, 0, 40, List.of("\n\nQuestion:"), 1234); }

    /** A fingerprint of everything sampled: ids, log-probs (bits) and finish reasons. */
    static long fingerprint(List<Sample> samples) {
        long h = 1469598103934665603L;
        for (Sample s : samples) {
            h = h * 31 + Arrays.hashCode(s.tokenIds());
            h = h * 31 + Arrays.hashCode(s.logProbs());
            h = h * 31 + s.finishReason().ordinal();
        }
        return h;
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int rounds = Integer.parseInt(args[1]);
        long gcEveryMs = args.length > 2 ? Long.parseLong(args[2]) : 0;
        if (gcEveryMs > 0) {
            Thread t = new Thread(() -> {
                while (true) {
                    System.gc();
                    try {
                        Thread.sleep(gcEveryMs);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "gc-hammer");
            t.setDaemon(true);
            t.start();
        }
        try (LlamaModel model = LlamaModel.load(dir, Device.cpu())) {
            Sampler s = new Sampler(model).maxBatchRows(16);
            List<Request> reqs = requests(s);
            for (int r = 0; r < rounds; r++) {
                List<Sample> out = s.sample(reqs, params());
                long tokens = out.stream().mapToLong(Sample::numTokens).sum();
                System.out.println("OK " + Long.toHexString(fingerprint(out)) + " " + tokens);
            }
        }
    }
}

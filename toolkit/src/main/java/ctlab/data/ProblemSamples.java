package ctlab.data;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import ctlab.model.Tokenizer;
import ctlab.sample.Sampler;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One line of {@code 01-sample/samples.jsonl}: a problem, its prompt exactly as sampled (text and the ids it was
 * encoded to, once, by {@link Tokenizer#encodePrompt}), the reference answer and its {@code n} samples.
 * {@code seed} is the root sampling seed: sample j's RNG is seeded with {@link Sampler#sampleSeed}(seed,
 * problem_id, j), so any sample can be regenerated alone.
 */
@JsonPropertyOrder({"problem_id", "prompt", "prompt_ids", "reference", "seed", "samples"})
public record ProblemSamples(@JsonProperty("problem_id") String problemId,
                             @JsonProperty("prompt") String prompt,
                             @JsonProperty("prompt_ids") int[] promptIds,
                             @JsonProperty("reference") String reference,
                             @JsonProperty("seed") long seed,
                             @JsonProperty("samples") List<Sample> samples) {
    public ProblemSamples {
        Objects.requireNonNull(problemId, "problem_id");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(reference, "reference");
        promptIds = Ids.check(promptIds, "prompt_ids", false);
        samples = List.copyOf(Objects.requireNonNull(samples, "samples"));
    }

    /** Number of prompt token ids (BOS included when the tokenizer adds one). */
    @JsonIgnore public int promptTokens() { return promptIds.length; }

    /** The sample with id {@code sampleId}, or null. */
    public Sample sample(String sampleId) {
        for (Sample s : samples) if (s.sampleId().equals(sampleId)) return s;
        return null;
    }

    /**
     * One sampled response. {@code token_ids} are all generated ids (the stop-completing token and a final EOS
     * included, as vLLM returns them); {@code response_ids} are the response the later stages use: the generated
     * ids cut at the stop string (up to and including the token that completes the text before it) and without
     * the EOS. {@code text} is the sampler's decoded text, cut before the stop string; it is what is graded.
     */
    @JsonPropertyOrder({"sample_id", "sample_index", "text", "finish_reason", "num_tokens", "cumulative_logprob",
            "token_ids", "response_ids", "planted"})
    public record Sample(@JsonProperty("sample_id") String sampleId,
                         @JsonProperty("sample_index") int sampleIndex,
                         @JsonProperty("text") String text,
                         @JsonProperty("finish_reason") Sampler.FinishReason finishReason,
                         @JsonProperty("num_tokens") int numTokens,
                         @JsonProperty("cumulative_logprob") double cumulativeLogprob,
                         @JsonProperty("token_ids") int[] tokenIds,
                         @JsonProperty("response_ids") int[] responseIds,
                         @JsonProperty("planted") @JsonInclude(JsonInclude.Include.NON_NULL) Planted planted) {
        public Sample {
            Objects.requireNonNull(sampleId, "sample_id");
            Objects.requireNonNull(text, "text");
            Objects.requireNonNull(finishReason, "finish_reason");
            tokenIds = Ids.check(tokenIds, "token_ids", true);
            responseIds = Ids.check(responseIds, "response_ids", true);
            if (numTokens != tokenIds.length)
                throw new IllegalArgumentException("num_tokens " + numTokens + " but token_ids has " + tokenIds.length);
            if (responseIds.length > tokenIds.length
                    || !Arrays.equals(responseIds, Arrays.copyOf(tokenIds, responseIds.length)))
                throw new IllegalArgumentException("response_ids must be a prefix of token_ids");
        }

        /** A sample without ground truth (a task without planted traps). */
        public Sample(String sampleId, int sampleIndex, String text, Sampler.FinishReason finishReason, int numTokens,
                      double cumulativeLogprob, int[] tokenIds, int[] responseIds) {
            this(sampleId, sampleIndex, text, finishReason, numTokens, cumulativeLogprob, tokenIds, responseIds, null);
        }

        /** The same sample with the task's ground truth about its response ids. */
        public Sample withPlanted(Planted p) {
            return new Sample(sampleId, sampleIndex, text, finishReason, numTokens, cumulativeLogprob, tokenIds, responseIds, p);
        }

        /** A sampler's sample as a record; the response ids are cut with the sampler's tokenizer. */
        public static Sample of(String problemId, Sampler.Sample s, Tokenizer tokenizer) {
            double lp = 0;
            for (float x : s.logProbs()) lp += x;
            return new Sample(ProblemSamples.sampleId(problemId, s.sampleIndex()), s.sampleIndex(), s.text(), s.finishReason(),
                    s.numTokens(), lp, s.tokenIds(), ProblemSamples.responseIds(s, tokenizer));
        }
    }

    /** The stable id of sample {@code index} of a problem: {@code <problem_id>#<index>}. */
    public static String sampleId(String problemId, int index) { return problemId + "#" + index; }

    /**
     * The response ids of a sample: without the final EOS; for a stop string, the shortest prefix of the generated
     * ids whose decoding (special tokens skipped, as the sampler decodes) starts with the cut text, so the token in
     * which the stop string begins is kept when it also carries text before it. Decoding only maps ids to text;
     * the ids are never re-encoded.
     */
    public static int[] responseIds(Sampler.Sample s, Tokenizer tokenizer) {
        int[] ids = s.tokenIds();
        return switch (s.finishReason()) {
            case LENGTH -> ids.clone();
            case EOS -> Arrays.copyOf(ids, Math.max(0, ids.length - 1));
            case STOP -> {
                // decode(prefix k) covers the text once it does and stays covering: binary search the first k
                int lo = 0, hi = ids.length;
                if (!covers(tokenizer, ids, hi, s.text())) yield ids.clone();
                while (lo < hi) {
                    int mid = (lo + hi) >>> 1;
                    if (covers(tokenizer, ids, mid, s.text())) hi = mid; else lo = mid + 1;
                }
                yield Arrays.copyOf(ids, lo);
            }
        };
    }

    private static boolean covers(Tokenizer t, int[] ids, int k, String text) {
        if (text.isEmpty()) return true;
        return t.decode(Ids.toLongs(Arrays.copyOf(ids, k)), true).startsWith(text);
    }
}

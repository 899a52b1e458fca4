package ctlab.run.stage;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.sample.Sampler;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One line of {@code 01-sample/samples.jsonl}: a problem, its prompt exactly as sampled, the reference answer and
 * its {@code n} samples. {@code seed} is the root sampling seed: sample j's RNG is seeded with
 * {@link Sampler#sampleSeed}(seed, problem_id, j), so any sample can be regenerated alone.
 *
 * @param promptTokens number of prompt token ids (BOS included when the tokenizer adds one)
 */
@JsonPropertyOrder({"problem_id", "prompt", "reference", "prompt_tokens", "seed", "samples"})
public record ProblemSamples(@JsonProperty("problem_id") String problemId,
                             @JsonProperty("prompt") String prompt,
                             @JsonProperty("reference") String reference,
                             @JsonProperty("prompt_tokens") int promptTokens,
                             @JsonProperty("seed") long seed,
                             @JsonProperty("samples") List<Sample> samples) {
    public ProblemSamples {
        Objects.requireNonNull(problemId, "problem_id");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(reference, "reference");
        samples = List.copyOf(Objects.requireNonNull(samples, "samples"));
    }

    /**
     * One sampled response: {@code text} is the generated part, cut before a stop string; {@code token_ids} are all
     * generated ids (the stop-completing token and a final EOS included, as vLLM returns them).
     */
    @JsonPropertyOrder({"sample_id", "sample_index", "text", "finish_reason", "num_tokens", "cumulative_logprob", "token_ids"})
    public record Sample(@JsonProperty("sample_id") String sampleId,
                         @JsonProperty("sample_index") int sampleIndex,
                         @JsonProperty("text") String text,
                         @JsonProperty("finish_reason") Sampler.FinishReason finishReason,
                         @JsonProperty("num_tokens") int numTokens,
                         @JsonProperty("cumulative_logprob") double cumulativeLogprob,
                         @JsonProperty("token_ids") int[] tokenIds) {
        public Sample {
            Objects.requireNonNull(sampleId, "sample_id");
            Objects.requireNonNull(text, "text");
        }

        static Sample of(String problemId, Sampler.Sample s) {
            double lp = 0;
            for (float x : s.logProbs()) lp += x;
            return new Sample(ProblemSamples.sampleId(problemId, s.sampleIndex()), s.sampleIndex(), s.text(), s.finishReason(),
                    s.numTokens(), lp, s.tokenIds());
        }
    }

    /** The stable id of sample {@code index} of a problem: {@code <problem_id>#<index>}. */
    public static String sampleId(String problemId, int index) { return problemId + "#" + index; }

    /** Reads a samples file strictly; a malformed line is an error naming file and line. */
    public static List<ProblemSamples> read(Path file) {
        List<ProblemSamples> out = new ArrayList<>();
        for (Jsonl.Line line : Jsonl.read(file)) {
            try {
                out.add(Jsonl.MAPPER.treeToValue(line.json(), ProblemSamples.class));
            } catch (JsonProcessingException | RuntimeException e) {
                throw new CtlabException(line.where() + ": not a samples record (" + rootMessage(e) + ")");
            }
        }
        return out;
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String m = t.getMessage();
        return m == null ? t.toString() : m.lines().findFirst().orElse(m);
    }
}

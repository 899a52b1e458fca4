package ctlab.sample;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import ctlab.CtlabException;

import java.util.List;

/**
 * How to sample: the knobs of vLLM's {@code SamplingParams} that the official cDPO code uses.
 *
 * @param n              samples per prompt (official: 64 for the initial sampling)
 * @param temperature    0 = greedy (argmax); otherwise logits are divided by it
 * @param topP           nucleus mass in (0, 1]; 1 = off (official: 0.95)
 * @param topK           keep the k most likely tokens; 0 = off
 * @param maxNewTokens   generated tokens per sample, a forced prefix not counted (official: 1024)
 * @param stop           stop strings, checked on the decoded generated text; the text is cut before the
 *                       first one found (vLLM's default {@code include_stop_str_in_output=False})
 * @param seed           root seed; each sample's RNG derives from (seed, request id, sample index)
 */
@JsonPropertyOrder({"n", "temperature", "top_p", "top_k", "max_new_tokens", "stop", "seed"})
public record SamplingParams(@JsonProperty("n") int n,
                             @JsonProperty("temperature") double temperature,
                             @JsonProperty("top_p") double topP,
                             @JsonProperty("top_k") int topK,
                             @JsonProperty("max_new_tokens") int maxNewTokens,
                             @JsonProperty("stop") List<String> stop,
                             @JsonProperty("seed") long seed) {

    /** The stop strings of the official code (src/configs/data_config.py), in its order. */
    public static final List<String> OFFICIAL_STOP =
            List.of("\n\nQuestion:", ".\n\nQuestion:", "\n\nProblem:", ".\n\nProblem:");

    public SamplingParams {
        if (n < 1) throw new CtlabException("sampling: n must be >= 1, got " + n);
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new CtlabException("sampling: temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) throw new CtlabException("sampling: top_p must be in (0, 1], got " + topP);
        if (topK < 0) throw new CtlabException("sampling: top_k must be >= 0 (0 = off), got " + topK);
        if (maxNewTokens < 1) throw new CtlabException("sampling: max_new_tokens must be >= 1, got " + maxNewTokens);
        stop = stop == null ? List.of() : List.copyOf(stop);
        for (int i = 0; i < stop.size(); i++) {
            if (stop.get(i).isEmpty()) throw new CtlabException("sampling: stop[" + i + "] is an empty string");
        }
    }

    /** The official setup: top_p 0.95, 1024 new tokens, the official stop strings, no top-k. */
    public static SamplingParams official(int n, double temperature, long seed) {
        return new SamplingParams(n, temperature, 0.95, 0, 1024, OFFICIAL_STOP, seed);
    }

    /** One greedy sample. */
    public static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(1, 0, 1, 0, maxNewTokens, List.of(), 0);
    }

    @JsonIgnore public boolean isGreedy() { return temperature == 0; }

    public SamplingParams withN(int newN) {
        return new SamplingParams(newN, temperature, topP, topK, maxNewTokens, stop, seed);
    }

    public SamplingParams withSeed(long newSeed) {
        return new SamplingParams(n, temperature, topP, topK, maxNewTokens, stop, newSeed);
    }

    public SamplingParams withMaxNewTokens(int m) {
        return new SamplingParams(n, temperature, topP, topK, m, stop, seed);
    }

    public SamplingParams withStop(List<String> s) {
        return new SamplingParams(n, temperature, topP, topK, maxNewTokens, s, seed);
    }
}

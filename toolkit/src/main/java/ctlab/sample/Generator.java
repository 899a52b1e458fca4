package ctlab.sample;

import ctlab.model.Tokenizer;
import ctlab.sample.Sampler.Request;
import ctlab.sample.Sampler.Sample;

import java.util.List;
import java.util.Map;

/**
 * Where the sample, rollout and eval stages get their samples: the local {@link Sampler} (backend {@code local})
 * or an OpenAI-compatible server ({@code openai}, {@link ctlab.sample.remote.RemoteGenerator}). Both return
 * {@link Sample}s with the same conventions (response ids, raw per-token log-probs, finish reason, stop string),
 * so the stages write the same records whichever produced them.
 */
public interface Generator extends AutoCloseable {
    /** The tokenizer that turns prompts into the ids sent and response ids into text. */
    Tokenizer tokenizer();

    /**
     * Several sampling setups over the same requests: result {@code i} holds {@code paramSets[i].n()} samples per
     * request, ordered by request, then sample index.
     */
    List<List<Sample>> sample(List<Request> requests, List<SamplingParams> paramSets);

    /** {@code params.n()} samples of each request, ordered by request, then sample index. */
    default List<Sample> sample(List<Request> requests, SamplingParams params) {
        return sample(requests, List.of(params)).get(0);
    }

    /**
     * Sample {@code sampleIndices[i]} of {@code requests[i]} ({@code params.n()} is ignored); consecutive rows of
     * the same request may be generated together.
     */
    List<Sample> sampleSelected(List<Request> requests, int[] sampleIndices, SamplingParams params);

    /** Generated tokens so far (prompts and forced prefixes not counted). */
    long tokensGenerated();

    /** What a stage records about the backend in its metrics: {@code backend}, and for a server its model and version. */
    Map<String, Object> describe();

    /** Releases what the backend holds (a server client's threads); the local sampler holds nothing. */
    @Override default void close() {}
}

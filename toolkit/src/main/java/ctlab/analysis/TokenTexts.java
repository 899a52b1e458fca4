package ctlab.analysis;

import ctlab.model.Tokenizer;
import ctlab.sample.Sampler;

import java.util.ArrayList;
import java.util.List;

/**
 * The decoded text of each token of a response, in the tokenization the CE scores and rollouts used
 * (the response tokenized on its own, {@link Sampler#responseIds}).
 */
@FunctionalInterface
public interface TokenTexts {
    List<String> split(String response);

    /** Splits with the run's tokenizer: each response id decoded on its own. */
    static TokenTexts of(Tokenizer tokenizer) {
        return response -> {
            int[] ids = Sampler.responseIds(tokenizer, response);
            List<String> out = new ArrayList<>(ids.length);
            for (int id : ids) out.add(tokenizer.decode(new long[] {id}));
            return out;
        };
    }
}

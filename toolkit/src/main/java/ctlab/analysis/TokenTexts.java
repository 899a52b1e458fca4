package ctlab.analysis;

import ctlab.model.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The decoded text of each token of a response. Records carry the ids the CE scores and rollouts used, so
 * {@link #ofIds} decodes those; {@link #split} is for a bare text (a rollout without its pair).
 */
@FunctionalInterface
public interface TokenTexts {
    List<String> split(String response);

    /** The text of each of {@code ids}; a splitter without a tokenizer splits {@code text} instead. */
    default List<String> ofIds(int[] ids, String text) { return split(text); }

    /** With the run's tokenizer: each id decoded on its own (a bare text is encoded as a response first). */
    static TokenTexts of(Tokenizer tokenizer) {
        return new TokenTexts() {
            @Override public List<String> split(String response) { return ofIds(tokenizer.encodeResponse(response), response); }

            @Override public List<String> ofIds(int[] ids, String text) {
                List<String> out = new ArrayList<>(ids.length);
                for (int id : ids) out.add(tokenizer.decode(new long[] {id}));
                return out;
            }
        };
    }
}

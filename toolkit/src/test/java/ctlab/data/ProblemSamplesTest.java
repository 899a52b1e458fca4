package ctlab.data;

import ctlab.model.Tokenizer;
import ctlab.sample.Sampler;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** Where a sample's response ids end: at the stop string (token-wise), before the EOS, or at the length limit. */
class ProblemSamplesTest {
    static Path golden() throws Exception {
        return Path.of(ProblemSamplesTest.class.getResource("/goldens/llama/tokenizer.json").toURI()).getParent();
    }

    static Sampler.Sample sample(int[] ids, String text, Sampler.FinishReason why) {
        return new Sampler.Sample("p", 0, ids, text, new float[ids.length], why, why == Sampler.FinishReason.STOP ? "\n\nQuestion:" : null);
    }

    static String decode(Tokenizer t, int[] ids) { return t.decode(Arrays.stream(ids).asLongStream().toArray(), true); }

    @Test void stopCutsAfterTheTokenThatCompletesTheTextBeforeTheStopString() throws Exception {
        try (Tokenizer tok = Tokenizer.load(golden())) {
            int[] ids = tok.encodeResponse("The answer is 7.\n\nQuestion: next");
            String text = "The answer is 7.";
            int[] cut = ProblemSamples.responseIds(sample(ids, text, Sampler.FinishReason.STOP), tok);
            assertArrayEquals(Arrays.copyOf(ids, cut.length), cut, "a prefix of the generated ids");
            assertTrue(decode(tok, cut).startsWith(text), decode(tok, cut));
            assertFalse(decode(tok, Arrays.copyOf(cut, cut.length - 1)).startsWith(text), "the shortest such prefix");
            assertTrue(cut.length < ids.length, "the stop string's tokens are cut");
            // a stop right at the start leaves no response ids
            assertEquals(0, ProblemSamples.responseIds(sample(ids, "", Sampler.FinishReason.STOP), tok).length);
        }
    }

    @Test void eosIsLeftOutAndALengthCutKeepsEverything() throws Exception {
        try (Tokenizer tok = Tokenizer.load(golden())) {
            int[] body = tok.encodeResponse("1 + 1 = 2");
            int[] withEos = Arrays.copyOf(body, body.length + 1);
            withEos[body.length] = tok.eosId();
            assertArrayEquals(body, ProblemSamples.responseIds(sample(withEos, "1 + 1 = 2", Sampler.FinishReason.EOS), tok));
            assertArrayEquals(body, ProblemSamples.responseIds(sample(body, "1 + 1 = 2", Sampler.FinishReason.LENGTH), tok));
        }
    }
}

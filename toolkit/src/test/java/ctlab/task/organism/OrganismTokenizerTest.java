package ctlab.task.organism;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class OrganismTokenizerTest {
    @TempDir static Path dir;
    static HuggingFaceTokenizer tokenizer;
    static Map<String, Integer> vocab;

    @BeforeAll
    static void load() throws Exception {
        Path file = OrganismTokenizer.write(dir);
        tokenizer = HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "false"));
        vocab = OrganismTokenizer.vocabulary();
    }

    @Test
    void roundTripsThousandsOfGeneratedProblemsWithoutUnknownTokens() {
        long unk = vocab.get(OrganismTokenizer.UNK);
        var g = new ProblemGenerator(Difficulty.standard(), 4);
        var noisy = new ProblemGenerator(new Difficulty(4, 6, 50, 12, 300, 1.0), 5);
        for (int i = 0; i < 2000; i++) {
            for (OrganismProblem p : new OrganismProblem[] {g.draw(i), noisy.draw(i)}) {
                String text = p.document();
                Encoding e = tokenizer.encode(text, false, false);
                long[] ids = e.getIds();
                assertFalse(Arrays.stream(ids).anyMatch(id -> id == unk), "unknown token in " + text + "\n"
                        + Arrays.toString(e.getTokens()));
                assertEquals(text, tokenizer.decode(ids, false));
            }
        }
    }

    @Test
    void numbersAreSpelledDigitByDigit() {
        Encoding e = tokenizer.encode("Mia has 1207 apples. Mia has 3 * 45 = 135 apples.", false, false);
        var tokens = Arrays.asList(e.getTokens());
        assertEquals(java.util.List.of("Mia ", "has ", "1", "2", "0", "7", " ", "apples", ". ", "Mia ", "has ",
                "3", " ", "* ", "4", "5", " ", "= ", "1", "3", "5", " ", "apples", "."), tokens);
        for (char d = '0'; d <= '9'; d++) assertEquals(vocab.get(String.valueOf(d)).longValue(),
                tokenizer.encode(String.valueOf(d), false, false).getIds()[0]);
    }

    @Test
    void thePromptTokenizesTheSameAloneAsInsideItsDocument() {
        var g = new ProblemGenerator(Difficulty.standard(), 9);
        for (int i = 0; i < 200; i++) {
            OrganismProblem p = g.draw(i);
            long[] prompt = tokenizer.encode(p.prompt(), false, false).getIds();
            long[] doc = tokenizer.encode(p.document(), false, false).getIds();
            long[] solution = tokenizer.encode(p.solution(), false, false).getIds();
            assertArrayEquals(prompt, Arrays.copyOf(doc, prompt.length), p.prompt());
            assertArrayEquals(solution, Arrays.copyOfRange(doc, prompt.length, doc.length));
        }
    }

    @Test
    void specialTokensHaveFixedIdsAndUnknownWordsMapToUnk() {
        assertEquals(0, vocab.get(OrganismTokenizer.PAD));
        assertEquals(1, vocab.get(OrganismTokenizer.BOS));
        assertEquals(2, vocab.get(OrganismTokenizer.EOS));
        assertEquals(3, vocab.get(OrganismTokenizer.UNK));
        long[] ids = tokenizer.encode("Mia has zebras", false, false).getIds();
        assertEquals(3, ids[ids.length - 1]);
        long[] withEos = tokenizer.encode("The answer is 7.<eos>", false, false).getIds();
        assertEquals(2, withEos[withEos.length - 1]);
        assertEquals(vocab.size(), OrganismTokenizer.vocabSize());
        assertEquals(vocab, OrganismTokenizer.vocabulary(), "vocabulary is deterministic");
    }
}

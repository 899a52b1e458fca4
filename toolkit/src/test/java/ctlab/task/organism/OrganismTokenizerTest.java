package ctlab.task.organism;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ctlab.io.Jsonl;
import ctlab.model.LlamaConfig;
import ctlab.model.Tokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
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

    /** transformers' add_special_tokens=True runs the post-processor: BOS first, as the model was pretrained. */
    @Test
    void specialTokensModeAddsBosFirstAndNothingElse() {
        String prompt = OrganismTask.INSTANCE.prompt(new ProblemGenerator(Difficulty.standard(), 3).draw(0).question());
        long[] plain = tokenizer.encode(prompt, false, false).getIds();
        long[] full = tokenizer.encode(prompt, true, false).getIds();
        assertEquals(vocab.get(OrganismTokenizer.BOS).longValue(), full[0]);
        assertArrayEquals(plain, Arrays.copyOfRange(full, 1, full.length));
    }

    /** The shipped model's tokenizer files are byte for byte what the writer produces today. */
    @Test
    void shippedOrganismBaseTokenizerIsWhatTheWriterWrites() throws Exception {
        Path shipped = OrganismBaseModelTest.modelDir();
        Assumptions.assumeTrue(shipped != null, "models/organism-base not found");
        for (String f : new String[] {OrganismTokenizer.FILE, "tokenizer_config.json", "special_tokens_map.json"})
            assertEquals(Files.readString(dir.resolve(f)), Files.readString(shipped.resolve(f)), f);
    }

    /** The same for the organism v2 (traps) model: its tokenizer adds BOS too, as it was pretrained. */
    @Test
    void shippedOrganismTrapsTokenizerIsWhatTheWriterWrites(@org.junit.jupiter.api.io.TempDir Path out) throws Exception {
        Path shipped = Path.of("../models/organism-traps");
        Assumptions.assumeTrue(Files.isRegularFile(shipped.resolve(OrganismTokenizer.FILE)), "models/organism-traps not found");
        OrganismTokenizer.write(out, true);
        for (String f : new String[] {OrganismTokenizer.FILE, "tokenizer_config.json", "special_tokens_map.json"})
            assertEquals(Files.readString(out.resolve(f)), Files.readString(shipped.resolve(f)), f);
    }

    /** The demo's prompts keep the ids the model was pretrained and evaluated with: BOS, then the text's tokens. */
    @Test
    void shippedModelPromptIdsAreBosThenTheText() throws Exception {
        Path shipped = OrganismBaseModelTest.modelDir();
        Assumptions.assumeTrue(shipped != null, "models/organism-base not found");
        PretrainConfig recipe = Jsonl.MAPPER.readValue(Files.readString(shipped.resolve("pretrain_config.json")),
                PretrainConfig.class);
        var g = new ProblemGenerator(recipe.difficulty(), recipe.dataSeed());
        try (Tokenizer t = Tokenizer.load(shipped, LlamaConfig.load(shipped.resolve("config.json")))) {
            assertEquals(1, t.bosId());
            for (int i = 0; i < 200; i++) {
                String prompt = OrganismTask.INSTANCE.prompt(g.draw(i).question());
                long[] text = t.encode(prompt);
                int[] ids = t.encodePrompt(prompt);
                assertEquals(text.length + 1, ids.length, prompt);
                assertEquals(1, ids[0]);
                for (int j = 0; j < text.length; j++) assertEquals(text[j], ids[j + 1], prompt);
                assertArrayEquals(ids, OrganismEval.promptIds(t, OrganismTask.INSTANCE, g.draw(i).question()));
            }
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

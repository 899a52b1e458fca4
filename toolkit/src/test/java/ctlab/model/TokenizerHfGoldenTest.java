package ctlab.model;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import ctlab.data.PromptResponse;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * ctlab's ids equal transformers' {@code AutoTokenizer} ids (fixtures from tools/goldens/make_tokenizer_goldens.py)
 * for the golden Llama, a Llama-3-style, a Qwen2-style and the organism's tokenizer: prompts and prompt + response,
 * with special tokens ({@link Tokenizer#encodePrompt}) and without ({@link Tokenizer#encode}).
 */
class TokenizerHfGoldenTest {
    static JsonNode fixtures() throws Exception {
        return Jsonl.MAPPER.readTree(Files.readAllBytes(Goldens.dir().resolve("tokenizers/tokenizer_goldens.json")));
    }

    /** The fixture's folder, relative to the repository root (tests run in toolkit/). */
    static Path folder(JsonNode tokenizer) {
        String dir = tokenizer.get("dir").asText();
        for (Path root : new Path[] {Path.of(".."), Path.of(".")})
            if (Files.isRegularFile(root.resolve(dir).resolve(Tokenizer.FILE))) return root.resolve(dir);
        throw new AssertionError(dir + " not found from " + Path.of("").toAbsolutePath());
    }

    @Test
    void idsEqualTransformersWithAndWithoutSpecialTokens() throws Exception {
        List<String> names = new ArrayList<>();
        for (JsonNode t : fixtures().get("tokenizers")) {
            String name = t.get("name").asText();
            names.add(name);
            try (Tokenizer tok = Tokenizer.load(folder(t))) {
                for (JsonNode c : t.get("cases")) {
                    String prompt = c.get("prompt").asText(), response = c.get("response").asText();
                    String where = name + " " + Jsonl.MAPPER.writeValueAsString(prompt);
                    int[] promptSpecial = ints(c.get("prompt_special")), responsePlain = ints(c.get("response_plain"));
                    assertArrayEquals(promptSpecial, tok.encodePrompt(prompt), where);
                    assertArrayEquals(ints(c.get("prompt_plain")), toInts(tok.encode(prompt)), where);
                    assertArrayEquals(responsePlain, tok.encodeResponse(response), where);
                    assertArrayEquals(ints(c.get("full_special")), tok.encodePrompt(prompt + response), where);
                    assertArrayEquals(ints(c.get("full_plain")), toInts(tok.encode(prompt + response)), where);
                    // training's pairs: the prompt as transformers encodes it, then the response without specials
                    assertArrayEquals(IntStream.concat(Arrays.stream(promptSpecial), Arrays.stream(responsePlain)).toArray(),
                            new PromptResponse(tok.encodePrompt(prompt), tok.encodeResponse(response)).ids(), where);
                    int added = promptSpecial.length - c.get("prompt_plain").size();
                    assertEquals(added == 1 ? promptSpecial[0] : -1, tok.bosId(), where);
                }
            }
        }
        assertEquals(List.of("golden-llama", "llama3", "qwen2", "organism"), names);
    }

    /** Both kinds are covered: a TemplateProcessing that adds BOS, and Qwen2's that adds none despite config.json. */
    @Test
    void fixturesCoverATokenizerThatAddsBosAndOneThatDoesNotThoughItsConfigNamesOne() throws Exception {
        for (JsonNode t : fixtures().get("tokenizers")) {
            JsonNode c = t.get("cases").get(0);
            int added = c.get("prompt_special").size() - c.get("prompt_plain").size();
            String name = t.get("name").asText();
            assertEquals(name.equals("qwen2") ? 0 : 1, added, name);
            if (name.equals("qwen2")) {
                JsonNode config = Jsonl.MAPPER.readTree(Files.readAllBytes(folder(t).resolve("config.json")));
                assertTrue(config.path("bos_token_id").isInt(), "the Qwen2 fixture's config.json names a bos_token_id");
                try (Tokenizer tok = Tokenizer.load(folder(t))) {
                    assertEquals(-1, tok.bosId());
                }
            }
        }
    }

    /** BOS comes from the tokenizer once: a prompt text holding it, or an empty prompt without it, is refused. */
    @Test
    void encodePromptRefusesASecondBosAndAnEmptyPromptWithoutOne() throws Exception {
        Path llama = Goldens.dir().resolve("llama"), qwen = Goldens.dir().resolve("tokenizers/qwen2");
        try (Tokenizer l = Tokenizer.load(llama); Tokenizer q = Tokenizer.load(qwen)) {
            var e = assertThrows(ctlab.CtlabException.class, () -> l.encodePrompt("<|begin_of_text|>Question: 1"));
            assertEquals("prompt '<|begin_of_text|>Question: 1': the text already contains the BOS token; the tokenizer adds it once",
                    e.getMessage());
            assertArrayEquals(new int[] {0}, l.encodePrompt(""));
            e = assertThrows(ctlab.CtlabException.class, () -> q.encodePrompt(""));
            assertEquals("empty prompt and the tokenizer adds no BOS token", e.getMessage());
        }
    }

    private static int[] ints(JsonNode arr) { return Goldens.intLists(Jsonl.MAPPER.createArrayNode().add(arr)).get(0); }

    private static int[] toInts(long[] ids) { return Arrays.stream(ids).mapToInt(Math::toIntExact).toArray(); }
}

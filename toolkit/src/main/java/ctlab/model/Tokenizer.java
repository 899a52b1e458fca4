package ctlab.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} run by DJL's native tokenizers binding, offline. Special tokens follow the
 * tokenizer as in transformers: {@link #encodePrompt} adds what the file's post-processor adds
 * ({@code add_special_tokens=True}: Llama-3's TemplateProcessing puts {@code <|begin_of_text|>} first, Qwen2's
 * ByteLevel post-processor adds nothing although its config.json names a {@code bos_token_id}); {@link #encode}
 * and {@link #encodeResponse} add none. transformers 5 ignores tokenizer_config.json's {@code add_bos_token} when a
 * tokenizer.json exists, and so does ctlab. The EOS id comes from config.json, then generation_config.json, then
 * tokenizer_config.json.
 */
public final class Tokenizer implements AutoCloseable {
    public static final String FILE = "tokenizer.json";

    private final HuggingFaceTokenizer hf;
    private final Path file;
    private final int vocabSize;
    private final int bosId;
    private final int eosId;
    private final Map<String, Integer> addedTokens;

    private Tokenizer(HuggingFaceTokenizer hf, Path file, int vocabSize, int eosId, Map<String, Integer> added) {
        this.hf = hf;
        this.file = file;
        this.vocabSize = vocabSize;
        this.eosId = eosId;
        this.addedTokens = added;
        this.bosId = addedBos();
    }

    /** Loads {@code modelDir/tokenizer.json} and checks that its ids fit the model's embedding. */
    public static Tokenizer load(Path modelDir, LlamaConfig config) {
        Tokenizer t = load(modelDir, config.eosTokenIds().isEmpty() ? -1 : config.eosTokenIds().get(0));
        try {
            t.checkFits(config.vocabSize(), modelDir.toString());
        } catch (CtlabException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Loads {@code modelDir/tokenizer.json}; the EOS id found in the folder's JSON files (-1 when none). */
    public static Tokenizer load(Path modelDir) { return load(modelDir, -2); }

    private static Tokenizer load(Path modelDir, int eosFromConfig) {
        Path file = Files.isDirectory(modelDir) ? modelDir.resolve(FILE) : modelDir;
        Path dir = file.toAbsolutePath().getParent();
        JsonNode root;
        try {
            root = Jsonl.MAPPER.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new CtlabException(file + ": cannot read tokenizer: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject() || !root.has("model")) {
            throw new CtlabException(file + ": not a Hugging Face tokenizer.json (no 'model' field)");
        }
        int maxId = -1;
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            for (JsonNode id : (Iterable<JsonNode>) vocab::elements) maxId = Math.max(maxId, id.asInt());
        } else if (vocab.isArray()) {
            maxId = vocab.size() - 1;  // Unigram: [[piece, score], ...]
        }
        Map<String, Integer> added = new HashMap<>();
        for (JsonNode t : root.path("added_tokens")) {
            int id = t.path("id").asInt();
            added.put(t.path("content").asText(), id);
            maxId = Math.max(maxId, id);
        }
        int eos = eosFromConfig == -2 ? eosFromFolder(dir, added) : eosFromConfig;
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "false", "truncation", "false",
                    "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new CtlabException(file + ": cannot load tokenizer: " + e.getMessage(), e);
        }
        return new Tokenizer(hf, file, maxId + 1, eos, added);
    }

    /** EOS from config.json, generation_config.json, or the token string in tokenizer_config.json. */
    private static int eosFromFolder(Path dir, Map<String, Integer> added) {
        for (String f : new String[] {"config.json", "generation_config.json"}) {
            JsonNode n = readJson(dir.resolve(f));
            int eos = n == null ? -1 : firstId(n.get("eos_token_id"));
            if (eos >= 0) return eos;
        }
        JsonNode tc = readJson(dir.resolve("tokenizer_config.json"));
        return tc == null ? -1 : added.getOrDefault(tokenText(tc.get("eos_token")), -1);
    }

    /**
     * The first special token the post-processor puts before a single sequence (BOS), or -1: found by encoding a
     * probe text with and without special tokens (a TemplateProcessing adds the same tokens around any text).
     */
    private int addedBos() {
        String probe = "a 0";
        long[] plain = hf.encode(probe, false, false).getIds();
        long[] full = hf.encode(probe, true, false).getIds();
        if (plain.length == 0) return -1;
        for (int i = 0; i + plain.length <= full.length; i++) {
            if (Arrays.equals(full, i, i + plain.length, plain, 0, plain.length))
                return i == 0 ? -1 : Math.toIntExact(full[0]);
        }
        return -1;
    }

    private static JsonNode readJson(Path p) {
        if (!Files.isRegularFile(p)) return null;
        try {
            return Jsonl.MAPPER.readTree(Files.readAllBytes(p));
        } catch (IOException e) {
            throw new CtlabException(p + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static int firstId(JsonNode v) {
        if (v == null || v.isNull()) return -1;
        if (v.isArray()) return v.isEmpty() ? -1 : v.get(0).asInt(-1);
        return v.isIntegralNumber() ? v.asInt() : -1;
    }

    private static String tokenText(JsonNode v) {
        if (v == null || v.isNull()) return "";
        return v.isObject() ? v.path("content").asText("") : v.asText("");
    }

    /**
     * Ids at or past the model's embedding rows would index out of range: an error naming both numbers.
     * Fewer tokenizer ids than rows is normal (embeddings are padded to a multiple of 64 or 128).
     */
    public void checkFits(int embeddingRows, String where) {
        if (vocabSize > embeddingRows) {
            throw new CtlabException(where + ": tokenizer " + file + " has " + vocabSize
                    + " token ids but the model's embedding has only " + embeddingRows
                    + " rows (vocab_size); tokenizer and model do not belong together");
        }
    }

    /** Token ids of {@code text}, without BOS/EOS or other special tokens. */
    public long[] encode(String text) {
        return hf.encode(text, false, false).getIds();
    }

    /**
     * The one way a prompt becomes ids, as transformers' {@code tokenizer(prompt)} ({@code add_special_tokens=True}):
     * the text's tokens with what the tokenizer's post-processor adds (BOS for Llama-3 and the organism, nothing for
     * Qwen2). Every stage encodes a prompt only through this method and carries the ids from then on.
     */
    public int[] encodePrompt(String prompt) {
        int[] ids = toInts(hf.encode(prompt, true, false).getIds());
        if (ids.length == 0) throw new CtlabException("empty prompt and the tokenizer adds no BOS token");
        // a BOS in the text as well (e.g. a chat template that renders bos_token) would be fed twice; HF allows it
        if (bosId >= 0 && ids[0] == bosId)
            for (int i = 1; i < ids.length; i++)
                if (ids[i] == bosId) {
                    String head = prompt.length() > 40 ? prompt.substring(0, 40) + "..." : prompt;
                    throw new CtlabException("prompt '" + head.replace("\n", "\\n")
                            + "': the text already contains the BOS token; the tokenizer adds it once");
                }
        return ids;
    }

    /** Ids of a response text on its own: no special tokens, no merge with the prompt's last token. */
    public int[] encodeResponse(String response) { return toInts(encode(response)); }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = Math.toIntExact(ids[i]);
        return out;
    }

    /** Text of {@code ids}; special tokens are kept when {@code skipSpecial} is false. */
    public String decode(long[] ids, boolean skipSpecial) { return hf.decode(ids, skipSpecial); }

    public String decode(long[] ids) { return decode(ids, false); }

    /**
     * The BOS id {@link #encodePrompt} puts first (the tokenizer's post-processor adds it), or -1 when the tokenizer
     * adds none (Qwen2), whatever config.json names.
     */
    public int bosId() { return bosId; }

    /** EOS id, or -1 when unknown. */
    public int eosId() { return eosId; }

    /** Number of token ids (highest id + 1, added tokens included). */
    public int vocabSize() { return vocabSize; }

    /** Id of an added/special token by its text, or -1. */
    public int specialTokenId(String content) { return addedTokens.getOrDefault(content, -1); }

    public Path file() { return file; }

    @Override
    public void close() { hf.close(); }
}

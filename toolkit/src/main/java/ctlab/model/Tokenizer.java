package ctlab.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} run by DJL's native tokenizers binding, offline. Encoding never adds
 * special tokens: callers decide about BOS explicitly ({@link #bosId()} is -1 for models without one, e.g.
 * Qwen2). Special-token ids come from config.json, then generation_config.json, then tokenizer_config.json.
 */
public final class Tokenizer implements AutoCloseable {
    public static final String FILE = "tokenizer.json";

    private final HuggingFaceTokenizer hf;
    private final Path file;
    private final int vocabSize;
    private final int bosId;
    private final int eosId;
    private final Map<String, Integer> addedTokens;

    private Tokenizer(HuggingFaceTokenizer hf, Path file, int vocabSize, int bosId, int eosId, Map<String, Integer> added) {
        this.hf = hf;
        this.file = file;
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.eosId = eosId;
        this.addedTokens = added;
    }

    /** Loads {@code modelDir/tokenizer.json} and checks that its ids fit the model's embedding. */
    public static Tokenizer load(Path modelDir, LlamaConfig config) {
        Tokenizer t = load(modelDir, config.bosTokenId(), config.eosTokenIds().isEmpty() ? -1 : config.eosTokenIds().get(0));
        try {
            t.checkFits(config.vocabSize(), modelDir.toString());
        } catch (CtlabException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Loads {@code modelDir/tokenizer.json}; BOS/EOS ids found in the folder's JSON files (-1 when none). */
    public static Tokenizer load(Path modelDir) { return load(modelDir, -2, -2); }

    private static Tokenizer load(Path modelDir, int bosFromConfig, int eosFromConfig) {
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
        int bos = bosFromConfig, eos = eosFromConfig;
        if (bos == -2 || eos == -2) {
            int[] found = specialIdsFromFolder(dir, added);
            if (bos == -2) bos = found[0];
            if (eos == -2) eos = found[1];
        }
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "false", "truncation", "false",
                    "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new CtlabException(file + ": cannot load tokenizer: " + e.getMessage(), e);
        }
        return new Tokenizer(hf, file, maxId + 1, bos, eos, added);
    }

    /** BOS/EOS from config.json, generation_config.json, or token strings in tokenizer_config.json. */
    private static int[] specialIdsFromFolder(Path dir, Map<String, Integer> added) {
        int bos = -1, eos = -1;
        for (String f : new String[] {"config.json", "generation_config.json"}) {
            JsonNode n = readJson(dir.resolve(f));
            if (n == null) continue;
            if (bos < 0) bos = firstId(n.get("bos_token_id"));
            if (eos < 0) eos = firstId(n.get("eos_token_id"));
        }
        JsonNode tc = readJson(dir.resolve("tokenizer_config.json"));
        if (tc != null) {
            if (bos < 0) bos = added.getOrDefault(tokenText(tc.get("bos_token")), -1);
            if (eos < 0) eos = added.getOrDefault(tokenText(tc.get("eos_token")), -1);
        }
        return new int[] {bos, eos};
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
     * The one way a prompt becomes ids: the special tokens the model expects before the text (BOS), then the text's
     * tokens. Every stage encodes a prompt only through this method and carries the ids from then on.
     */
    public int[] encodePrompt(String prompt) {
        long[] ids = encode(prompt);
        int off = bosId >= 0 ? 1 : 0;
        int[] out = new int[ids.length + off];
        if (bosId >= 0) out[0] = bosId;
        for (int i = 0; i < ids.length; i++) out[i + off] = Math.toIntExact(ids[i]);
        return out;
    }

    /** Ids of a response text on its own: no special tokens, no merge with the prompt's last token. */
    public int[] encodeResponse(String response) {
        long[] ids = encode(response);
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = Math.toIntExact(ids[i]);
        return out;
    }

    /** Text of {@code ids}; special tokens are kept when {@code skipSpecial} is false. */
    public String decode(long[] ids, boolean skipSpecial) { return hf.decode(ids, skipSpecial); }

    public String decode(long[] ids) { return decode(ids, false); }

    /** BOS id, or -1 when the model has no BOS token. */
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

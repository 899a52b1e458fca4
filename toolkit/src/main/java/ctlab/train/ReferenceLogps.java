package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.data.PromptResponse;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.io.Progress;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reference log-probs log π_ref(y_t) of every chosen and rejected response token, computed once with the adapters
 * DISABLED (the base model) and dropout off, and cached in a file under a key = hash of (reference model, tokenizer,
 * the exact token ids of every pair, micro-batch size). Loading checks the key: a missing or mismatched cache is a
 * CtlabException, never a silent recomputation (least of all with the policy).
 *
 * @param key      the cache key (sha256 hex)
 * @param chosen   per pair, response-aligned log-probs of the chosen tokens (EOS included)
 * @param rejected per pair, the same for the rejected tokens
 */
public record ReferenceLogps(String key, List<float[]> chosen, List<float[]> rejected) {
    public static final String FILE = "reference-logps.json";

    public ReferenceLogps {
        if (chosen.size() != rejected.size()) throw new IllegalArgumentException("chosen and rejected counts differ");
        chosen = List.copyOf(chosen);
        rejected = List.copyOf(rejected);
    }

    public int size() { return chosen.size(); }

    /**
     * The cache key of a reference model and data.
     *
     * @param referenceModel names the reference weights exactly (e.g. a hash of the model folder)
     * @param tokenizerFile  the tokenizer's file (hashed), or null when the ids below already pin it
     */
    public static String key(String referenceModel, Path tokenizerFile, List<PreferenceTraining.EncodedPair> pairs,
                             int batchSize) {
        StringBuilder sb = new StringBuilder("ctlab reference-logps v1\nmodel ").append(referenceModel)
                .append("\ntokenizer ").append(tokenizerFile == null ? "-" : sha256(readBytes(tokenizerFile)))
                .append("\nbatch ").append(batchSize).append('\n');
        ByteBuffer buf = ByteBuffer.allocate(4);
        java.security.MessageDigest md;
        try {
            md = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (PreferenceTraining.EncodedPair p : pairs) {
            for (PromptResponse pr : List.of(p.chosen(), p.rejected())) {
                for (int[] part : new int[][] {pr.prompt(), pr.response()}) {
                    buf.clear(); buf.putInt(part.length); md.update(buf.array());
                    for (int id : part) { buf.clear(); buf.putInt(id); md.update(buf.array()); }
                }
            }
        }
        sb.append("ids ").append(java.util.HexFormat.of().formatHex(md.digest()));
        return sha256(sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Computes the reference log-probs with {@code model}'s adapters disabled (restored afterwards) and dropout off,
     * in the same micro-batches the trainer uses (so at step 0 policy and reference agree bit for bit).
     */
    public static ReferenceLogps compute(LlamaModel model, List<PreferenceTraining.EncodedPair> pairs, int batchSize,
                                         String key) {
        Lora active = model.lora();
        boolean wasEnabled = active != null && active.isEnabled();
        boolean wasTraining = model.isTraining();
        if (active != null) active.setEnabled(false);
        model.setTraining(false);
        List<float[]> chosen = new ArrayList<>(), rejected = new ArrayList<>();
        try (Progress bar = Progress.start("reference log-probs", pairs.size())) {
            for (int from = 0; from < pairs.size(); from += batchSize) {
                List<PreferenceTraining.EncodedPair> part = pairs.subList(from, Math.min(pairs.size(), from + batchSize));
                ResponseBatch batch = PreferenceTraining.concatenated(part);
                try (NDManager m = NDManager.newBaseManager(model.device())) {
                    ResponseBatch.Tensors t = batch.tensors(m);
                    NDArray logp = batch.responseLogProbs(batch.logits(model, t), t);       // (2B, R)
                    float[] flat = logp.toFloatArray();
                    int r = batch.responseWidth(), b = part.size();
                    for (int i = 0; i < b; i++) {
                        chosen.add(java.util.Arrays.copyOfRange(flat, i * r, i * r + batch.responseLengths()[i]));
                        rejected.add(java.util.Arrays.copyOfRange(flat, (b + i) * r, (b + i) * r + batch.responseLengths()[b + i]));
                    }
                }
                bar.set(Math.min(pairs.size(), from + batchSize), "");
            }
        } finally {
            if (active != null) active.setEnabled(wasEnabled);
            model.setTraining(wasTraining);
        }
        return new ReferenceLogps(key, chosen, rejected);
    }

    /** Writes the cache atomically. */
    public void save(Path file) {
        ObjectNode root = Jsonl.MAPPER.createObjectNode();
        root.put("key", key);
        root.put("pairs", size());
        ArrayNode c = root.putArray("chosen"), r = root.putArray("rejected");
        for (int i = 0; i < size(); i++) {
            ArrayNode a = c.addArray();
            for (float v : chosen.get(i)) a.add(v);
            ArrayNode b = r.addArray();
            for (float v : rejected.get(i)) b.add(v);
        }
        AtomicFiles.writeString(file, root + "\n");
    }

    /**
     * Loads the cache and checks it belongs to this reference and data.
     *
     * @throws CtlabException when the file is missing, unreadable, or made for another model/data/tokenizer
     */
    public static ReferenceLogps load(Path file, String expectedKey, List<PreferenceTraining.EncodedPair> pairs) {
        if (!Files.isRegularFile(file))
            throw new CtlabException(file + ": reference log-prob cache is missing; compute it with the reference model "
                    + "(ReferenceLogps.compute) first. The policy is never used as a stand-in.");
        JsonNode root;
        try {
            root = Jsonl.MAPPER.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new CtlabException(file + ": cannot read the reference log-prob cache: " + e.getMessage());
        }
        String key = root.path("key").asText("");
        if (!key.equals(expectedKey))
            throw new CtlabException(file + ": reference log-prob cache was made for another reference model, data or "
                    + "tokenizer (key " + abbreviate(key) + ", expected " + abbreviate(expectedKey) + "); delete it to "
                    + "recompute it with the reference model");
        List<float[]> chosen = floats(root.path("chosen"), file, "chosen"), rejected = floats(root.path("rejected"), file, "rejected");
        if (chosen.size() != pairs.size() || rejected.size() != pairs.size())
            throw new CtlabException(file + ": reference log-prob cache has " + chosen.size() + " pairs, the data " + pairs.size());
        for (int i = 0; i < pairs.size(); i++) {
            if (chosen.get(i).length != pairs.get(i).chosen().response().length
                    || rejected.get(i).length != pairs.get(i).rejected().response().length)
                throw new CtlabException(file + ": pair " + i + ": cached log-probs do not cover the response tokens");
        }
        return new ReferenceLogps(key, chosen, rejected);
    }

    private static List<float[]> floats(JsonNode arr, Path file, String field) {
        if (!arr.isArray()) throw new CtlabException(file + ": field '" + field + "' must be a list");
        List<float[]> out = new ArrayList<>(arr.size());
        for (int i = 0; i < arr.size(); i++) {
            JsonNode row = arr.get(i);
            if (!row.isArray()) throw new CtlabException(file + ": " + field + "[" + i + "] must be a list");
            float[] v = new float[row.size()];
            for (int j = 0; j < v.length; j++) {
                JsonNode x = row.get(j);
                if (!x.isNumber()) throw new CtlabException(file + ": " + field + "[" + i + "][" + j + "] is not a number");
                v[j] = (float) x.asDouble();
            }
            out.add(v);
        }
        return out;
    }

    private static byte[] readBytes(Path f) {
        try {
            return Files.readAllBytes(f);
        } catch (IOException e) {
            throw new CtlabException(f + ": cannot read: " + e.getMessage());
        }
    }

    private static String sha256(byte[] b) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String abbreviate(String k) { return k.length() > 12 ? k.substring(0, 12) + "…" : k.isEmpty() ? "(none)" : k; }
}

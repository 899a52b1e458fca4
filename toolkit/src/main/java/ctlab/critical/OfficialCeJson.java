package ctlab.critical;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.data.ScoredPair;
import ctlab.data.ScoredSide;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The official code's CE-scored preference file (chenzhiling9954/Critical-Tokens-Matter, src/pipeline.py
 * {@code calculate_ce_score}, read by src/train/train_cdpo.py {@code get_cdpo_train_dataset}): one JSON object of
 * parallel lists
 * <pre>
 * {"prompt": [str], "chosen": [str], "rejected": [str],
 *  "prob_result": [{"pos": {"ce_prob": [float], "response_start_idx": int, "text": str},
 *                   "neg": {"ce_prob": [float], "response_start_idx": int, "text": str}}]}
 * </pre>
 * so scored pairs move between ctlab and the official Python trainer. Other top-level keys (the selection step
 * writes {@code config} and {@code answer}) are ignored on import and not written.
 */
public final class OfficialCeJson {
    private OfficialCeJson() {}

    /**
     * One entry of an official file. It has texts and scores only (no ids, no pair id): an interchange format for the
     * official Python trainer, not a run file ctlab trains from.
     */
    public record Entry(String prompt, String chosen, String rejected, ScoredSide pos, ScoredSide neg) {}

    /**
     * Writes the pairs in the official shape, atomically. Pairs in the response-only layout (score-ce with
     * {@code ce.prompt_scores: false}) are refused before anything is written: the official trainer never reads
     * {@code response_start_idx} but multiplies {@code ce_prob} position by position with the per-token log-probs of
     * the whole prompt + response (src/train/train_cdpo.py {@code dpo_loss}, the prompt positions masked to 0), so
     * response-only scores would weight the wrong tokens.
     */
    public static void write(Path file, List<ScoredPair> pairs) {
        for (ScoredPair p : pairs)
            if (!p.hasPromptScores())
                throw new CtlabException(file + ": pair " + p.pairId() + " has response-only scores (ce.prompt_scores: false),"
                        + " which the official trainer would misalign with the prompt + response tokens; re-score with"
                        + " ce.prompt_scores: true to export");
        ObjectNode root = Jsonl.MAPPER.createObjectNode();
        ArrayNode prompts = root.putArray("prompt"), chosen = root.putArray("chosen"), rejected = root.putArray("rejected");
        ArrayNode probs = root.putArray("prob_result");
        for (ScoredPair p : pairs) {
            prompts.add(p.prompt());
            chosen.add(p.chosen());
            rejected.add(p.rejected());
            ObjectNode entry = probs.addObject();
            entry.set("pos", Jsonl.MAPPER.valueToTree(p.pos()));
            entry.set("neg", Jsonl.MAPPER.valueToTree(p.neg()));
        }
        String text;
        try {
            text = Jsonl.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        AtomicFiles.write(file, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** Reads an official CE file; anything malformed is a CtlabException naming the file and the JSON path. */
    public static List<Entry> read(Path file) {
        JsonNode root;
        try {
            root = Jsonl.MAPPER.readTree(Jsonl.readUtf8(file));
        } catch (JsonProcessingException e) {
            throw new CtlabException(file + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject())
            throw new CtlabException(file + ": expected a JSON object with keys prompt, chosen, rejected, prob_result");
        JsonNode prompts = list(root, "prompt", file), chosen = list(root, "chosen", file),
                rejected = list(root, "rejected", file), probs = list(root, "prob_result", file);
        int n = prompts.size();
        for (String key : new String[] {"chosen", "rejected", "prob_result"})
            if (root.get(key).size() != n)
                throw new CtlabException(file + ": '" + key + "' has " + root.get(key).size()
                        + " entries but 'prompt' has " + n);
        List<Entry> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            JsonNode entry = probs.get(i);
            String where = file + ": prob_result[" + i + "]";
            if (!entry.isObject()) throw new CtlabException(where + ": expected an object with 'pos' and 'neg'");
            out.add(new Entry(text(prompts.get(i), file + ": prompt[" + i + "]"),
                    text(chosen.get(i), file + ": chosen[" + i + "]"), text(rejected.get(i), file + ": rejected[" + i + "]"),
                    side(entry.get("pos"), where + ".pos"), side(entry.get("neg"), where + ".neg")));
        }
        return out;
    }

    private static JsonNode list(JsonNode root, String key, Path file) {
        JsonNode v = root.get(key);
        if (v == null) throw new CtlabException(file + ": missing key '" + key + "'");
        if (!v.isArray()) throw new CtlabException(file + ": '" + key + "' must be a list");
        return v;
    }

    private static String text(JsonNode v, String where) {
        if (v == null || !v.isTextual()) throw new CtlabException(where + ": expected a string");
        return v.asText();
    }

    private static ScoredSide side(JsonNode v, String where) {
        if (v == null || !v.isObject()) throw new CtlabException(where + ": missing object with ce_prob, response_start_idx, text");
        JsonNode probs = v.get("ce_prob");
        if (probs == null || !probs.isArray()) throw new CtlabException(where + ".ce_prob: missing or not a list");
        double[] ce = new double[probs.size()];
        for (int j = 0; j < ce.length; j++) {
            JsonNode x = probs.get(j);
            if (!x.isNumber() || !(x.asDouble() >= 0 && x.asDouble() <= 1))
                throw new CtlabException(where + ".ce_prob[" + j + "]: expected a probability in [0, 1], got " + x);
            ce[j] = x.asDouble();
        }
        JsonNode start = v.get("response_start_idx");
        if (start == null || !start.canConvertToInt() || !start.isIntegralNumber())
            throw new CtlabException(where + ".response_start_idx: missing or not an integer");
        int s = start.asInt();
        if (s < 0 || s > ce.length)
            throw new CtlabException(where + ".response_start_idx: " + s + " is outside 0.." + ce.length
                    + " (ce_prob has " + ce.length + " entries)");
        return new ScoredSide(ce, s, text(v.get("text"), where + ".text"));
    }
}

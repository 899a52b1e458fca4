package ctlab.task.organism;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes the organism's tokenizer as a Hugging Face {@code tokenizer.json} (plus {@code tokenizer_config.json}
 * and {@code special_tokens_map.json}), so it loads through DJL's {@code HuggingFaceTokenizer} and Python's
 * {@code tokenizers}/{@code transformers} exactly like a real model's.
 *
 * <p>Design: a {@code WordLevel} model over the generator's words and punctuation, a {@code Split}
 * pre-tokenizer with {@link #PATTERN} (behaviour "Isolated"), and a {@code Fuse} decoder (concatenates tokens),
 * so decode(encode(text)) == text, and a {@code TemplateProcessing} post-processor that puts {@code <bos>} first
 * when special tokens are added (see {@link #postProcessor}). Numbers are single digits ({@code 0}..{@code 9}), so a model does
 * arithmetic digit by digit. A word or punctuation mark carries its TRAILING space ("apples ", ": "), never a
 * leading one: the official prompt ends in "Answer: ", so the prompt's tokens are the same whether it is
 * tokenized alone (sampling) or together with its answer (training) — with leading-space words the boundary
 * would differ. A space after a digit is its own token.
 */
public final class OrganismTokenizer {
    /** Oniguruma (HF) and java.util.regex read this the same way. */
    public static final String PATTERN = "[A-Za-z]+ ?|[0-9]|[^A-Za-z0-9\\s] ?|\\s";
    public static final String PAD = "<pad>", BOS = "<bos>", EOS = "<eos>", UNK = "<unk>";
    public static final List<String> SPECIALS = List.of(PAD, BOS, EOS, UNK);
    public static final String FILE = "tokenizer.json";

    private OrganismTokenizer() {}

    /** Token → id: specials 0..3, then the ten digits, space and newline, then sorted words and marks. */
    public static Map<String, Integer> vocabulary() { return vocabulary(false); }

    /**
     * With {@code traps}, organism v2's vocabulary: the v1 vocabulary unchanged (same ids), then the trap
     * families' new words appended, sorted.
     */
    public static Map<String, Integer> vocabulary(boolean traps) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String s : SPECIALS) vocab.put(s, vocab.size());
        for (char d = '0'; d <= '9'; d++) vocab.put(String.valueOf(d), vocab.size());
        vocab.put(" ", vocab.size());
        vocab.put("\n", vocab.size());
        List<String> texts = new ArrayList<>(ProblemGenerator.templates());
        texts.addAll(ProblemGenerator.fillers());
        for (String p : pieces(texts)) vocab.putIfAbsent(p, vocab.size());
        if (traps) for (String p : pieces(Traps.texts())) vocab.putIfAbsent(p, vocab.size());
        return vocab;
    }

    private static TreeSet<String> pieces(List<String> texts) {
        TreeSet<String> pieces = new TreeSet<>();
        Matcher m = Pattern.compile("[A-Za-z]+|[^A-Za-z0-9\\s{}]").matcher("");
        for (String t : texts) {
            m.reset(t);
            while (m.find()) {
                String piece = m.group();
                pieces.add(piece);
                pieces.add(piece + " ");
                if (Character.isLetter(piece.charAt(0))) {   // sentence-initial capitals ("Each", "It")
                    String cap = Character.toUpperCase(piece.charAt(0)) + piece.substring(1);
                    pieces.add(cap);
                    pieces.add(cap + " ");
                }
            }
        }
        return pieces;
    }

    /** The tokenizer.json document. */
    public static ObjectNode tokenizerJson() { return tokenizerJson(false); }

    /** The tokenizer.json document; {@code traps}: organism v2's vocabulary. */
    public static ObjectNode tokenizerJson(boolean traps) {
        Map<String, Integer> vocab = vocabulary(traps);
        ObjectNode root = Jsonl.MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String s : SPECIALS) {
            ObjectNode t = added.addObject();
            t.put("id", vocab.get(s));
            t.put("content", s);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Split");
        pre.putObject("pattern").put("Regex", PATTERN);
        pre.put("behavior", "Isolated");
        pre.put("invert", false);
        postProcessor(root.putObject("post_processor"), vocab.get(BOS));
        root.putObject("decoder").put("type", "Fuse");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        model.put("unk_token", UNK);
        return root;
    }

    /**
     * "{@code <bos> $A}" as Hugging Face writes a {@code TemplateProcessing}: encoding with special tokens (HF's
     * {@code add_special_tokens=True}, ctlab's {@code Tokenizer.encodePrompt}) puts {@code <bos>} first, as the
     * model was pretrained. The pair template follows Llama-3's ({@code <bos> $A <bos>:1 $B:1}).
     */
    private static void postProcessor(ObjectNode p, int bosId) {
        p.put("type", "TemplateProcessing");
        ArrayNode single = p.putArray("single");
        addSpecial(single, 0);
        addSequence(single, "A", 0);
        ArrayNode pair = p.putArray("pair");
        addSpecial(pair, 0);
        addSequence(pair, "A", 0);
        addSpecial(pair, 1);
        addSequence(pair, "B", 1);
        ObjectNode bos = p.putObject("special_tokens").putObject(BOS);
        bos.put("id", BOS);
        bos.putArray("ids").add(bosId);
        bos.putArray("tokens").add(BOS);
    }

    private static void addSpecial(ArrayNode template, int typeId) {
        template.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", typeId);
    }

    private static void addSequence(ArrayNode template, String id, int typeId) {
        template.addObject().putObject("Sequence").put("id", id).put("type_id", typeId);
    }

    /** Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json into {@code dir}. */
    public static Path write(Path dir) { return write(dir, false); }

    /** As {@link #write(Path)}; {@code traps}: organism v2's vocabulary. */
    public static Path write(Path dir, boolean traps) {
        try {
            Files.createDirectories(dir);
            var pretty = Jsonl.MAPPER.writerWithDefaultPrettyPrinter();
            AtomicFiles.writeString(dir.resolve(FILE), pretty.writeValueAsString(tokenizerJson(traps)) + "\n");
            ObjectNode special = Jsonl.MAPPER.createObjectNode();
            special.put("bos_token", BOS).put("eos_token", EOS).put("pad_token", PAD).put("unk_token", UNK);
            AtomicFiles.writeString(dir.resolve("special_tokens_map.json"), pretty.writeValueAsString(special) + "\n");
            ObjectNode config = special.deepCopy();
            config.put("tokenizer_class", "PreTrainedTokenizerFast");
            config.put("model_max_length", 512);
            config.put("add_bos_token", true);   // what the post-processor does (transformers 5 reads only that)
            config.put("clean_up_tokenization_spaces", false);
            AtomicFiles.writeString(dir.resolve("tokenizer_config.json"), pretty.writeValueAsString(config) + "\n");
            return dir.resolve(FILE);
        } catch (IOException e) {
            throw new UncheckedIOException("writing tokenizer to " + dir, e);
        }
    }

    public static int vocabSize() { return vocabulary().size(); }

    public static int vocabSize(boolean traps) { return vocabulary(traps).size(); }
}

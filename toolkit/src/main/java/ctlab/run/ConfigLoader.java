package ctlab.run;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a run config: defaults ← user file ← {@code --set} overrides, merged as JSON trees, then bound to
 * {@link RunConfig} records. Every user mistake becomes a {@link CtlabException} that names where the value
 * came from (file or {@code --set}) and its key path: unknown keys (with a did-you-mean), wrong types, and
 * out-of-range values found by the records' validating constructors.
 */
public final class ConfigLoader {
    private static final String DEFAULTS = "defaults.yaml";

    /** Binds trees to records: strict types (no "3" for 3, no 2.5 for an int), snake_case keys. */
    private static final ObjectMapper BINDER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .build();

    private static final YAMLMapper YAML = YAMLMapper.builder(YAMLFactory.builder()
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .build();

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)      // "{...} garbage" is not a config
            .build();

    /** Keys that were renamed: old key path → the new one and how old values map (the error says so). */
    private static final Map<String, String> RENAMED = Map.of(
            "train.chosen_weight", "train.only_neg (chosen_weight: one is only_neg: true, ce is only_neg: false)",
            "train.tdpo_variant", "train.tdpo2 (tdpo_variant: 2 is tdpo2: true, 1 is tdpo2: false)");

    private ConfigLoader() {}

    public static RunConfig load(Path file, List<String> overrides) {
        String text = Jsonl.readUtf8(file);
        String stem = file.getFileName().toString().replaceFirst("\\.(ya?ml|json)$", "");
        boolean json = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json");
        return bind(text, file.toString(), json, stem, overrides);
    }

    /** Parses YAML (or JSON, which YAML reads too) text; {@code sourceName} is used in messages. */
    public static RunConfig parse(String text, String sourceName, List<String> overrides) {
        return bind(text, sourceName, false, sourceName.replaceFirst("\\.(ya?ml|json)$", ""), overrides);
    }

    /** The defaults tree (a fresh copy). */
    public static ObjectNode defaultsTree() {
        try (InputStream in = ConfigLoader.class.getResourceAsStream(DEFAULTS)) {
            if (in == null) throw new IllegalStateException("missing resource ctlab/run/" + DEFAULTS);
            return (ObjectNode) YAML.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static JsonNode toTree(RunConfig config) { return BINDER.valueToTree(config); }

    public static String toYaml(RunConfig config) {
        try {
            return YAML.writeValueAsString(toTree(config));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static RunConfig bind(String text, String source, boolean json, String defaultName, List<String> overrides) {
        ObjectNode tree = defaultsTree();
        Map<String, String> origin = new HashMap<>();
        JsonNode user = readTree(text, source, json);
        if (user != null && !user.isMissingNode() && !user.isNull()) {
            if (!user.isObject()) throw new CtlabException(source + ": expected a mapping of keys at the top level");
            merge(tree, user, "", source, origin);
        }
        for (String o : overrides == null ? List.<String>of() : overrides) applyOverride(tree, o, origin);
        if (tree.get("name").isNull()) tree.put("name", defaultName);
        try {
            return BINDER.treeToValue(tree, RunConfig.class);
        } catch (JsonMappingException e) {
            throw explain(e, tree, source, origin);
        } catch (JsonProcessingException e) {
            throw new CtlabException(source + ": " + e.getOriginalMessage());
        }
    }

    private static JsonNode readTree(String text, String source, boolean json) {
        try {
            return (json ? JSON : YAML).readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? source : source + ":" + at.getLineNr() + ":" + at.getColumnNr();
            String detail = e.getOriginalMessage().lines().findFirst().orElse("")
                    .replaceFirst(" \\(for root starting at .*", "");              // Jackson's source description
            if (detail.startsWith("Trailing token")) detail = "more text after the config object";
            throw new CtlabException(where + ": " + (json ? "not valid JSON" : "not valid YAML") + " (" + detail + ")");
        }
    }

    /** Merges {@code user} into {@code base}, refusing keys the defaults do not have. */
    private static void merge(ObjectNode base, JsonNode user, String path, String source, Map<String, String> origin) {
        Iterator<Map.Entry<String, JsonNode>> it = user.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            String keyPath = path.isEmpty() ? key : path + "." + key;
            JsonNode current = base.get(key);
            if (current == null) {
                if (RENAMED.containsKey(keyPath)) {
                    throw new CtlabException(source + ": " + keyPath + ": renamed to " + RENAMED.get(keyPath));
                }
                List<String> known = new ArrayList<>();
                base.fieldNames().forEachRemaining(known::add);
                String hint = Suggest.closest(key, known).map(s -> " (did you mean " + s + "?)")
                        .orElse(" (known keys here: " + String.join(", ", known) + ")");
                throw new CtlabException(source + ": " + keyPath + ": unknown key" + hint);
            }
            JsonNode value = e.getValue();
            if (current.isObject()) {
                if (!value.isObject()) {
                    throw new CtlabException(source + ": " + keyPath + ": expected a section of keys, got "
                            + describe(value));
                }
                merge((ObjectNode) current, value, keyPath, source, origin);
            } else {
                base.set(key, value);
                origin.put(keyPath, source);
            }
        }
    }

    /** {@code key.path=value}; the value is read as YAML, so {@code 0.5}, {@code true}, {@code [a, b]} work. */
    private static void applyOverride(ObjectNode tree, String override, Map<String, String> origin) {
        String source = "--set " + override;
        int eq = override.indexOf('=');
        if (eq <= 0) throw new CtlabException(source + ": expected key.path=value");
        String[] keys = override.substring(0, eq).trim().split("\\.", -1);
        JsonNode value = readTree(override.substring(eq + 1), source, false);
        if (value == null || value.isMissingNode()) value = JsonNodeFactory.instance.nullNode();
        ObjectNode nested = JsonNodeFactory.instance.objectNode();
        ObjectNode at = nested;
        for (int i = 0; i < keys.length - 1; i++) at = at.putObject(keys[i]);
        at.set(keys[keys.length - 1], value);
        merge(tree, nested, "", source, origin);
    }

    /** Turns a binding failure into a message with the key path and the value's origin. */
    private static CtlabException explain(JsonMappingException e, JsonNode tree, String source, Map<String, String> origin) {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) path.append(path.length() == 0 ? "" : ".").append(r.getFieldName());
            else if (r.getIndex() >= 0) path.append('[').append(r.getIndex()).append(']');
        }
        Throwable cause = e.getCause();
        while (cause != null && !(cause instanceof ConfigKeyException)) cause = cause.getCause();
        if (cause instanceof ConfigKeyException bad) {
            // The path points at the section whose constructor refused a value.
            String keyPath = path.length() == 0 ? bad.key() : path + "." + bad.key();
            String from = origin.getOrDefault(stripIndex(keyPath), origin.getOrDefault(keyPath, source));
            return new CtlabException(from + ": " + keyPath + ": " + bad.problem(), e);
        }
        String keyPath = path.toString();
        JsonNode value = at(tree, e.getPath());
        String expected = e instanceof com.fasterxml.jackson.databind.exc.MismatchedInputException mi
                && mi.getTargetType() != null ? typeName(mi.getTargetType()) : "a different type";
        String from = origin.getOrDefault(keyPath, source);
        return new CtlabException(from + ": " + keyPath + ": expected " + expected + ", got " + describe(value), e);
    }

    private static String stripIndex(String keyPath) { return keyPath.replaceFirst("\\[\\d+]$", ""); }

    private static JsonNode at(JsonNode tree, List<JsonMappingException.Reference> path) {
        JsonNode n = tree;
        for (JsonMappingException.Reference r : path) {
            if (n == null) return null;
            n = r.getFieldName() != null ? n.get(r.getFieldName()) : n.get(r.getIndex());
        }
        return n;
    }

    private static String typeName(Class<?> t) {
        if (t == int.class || t == Integer.class || t == long.class || t == Long.class) return "an integer";
        if (t == double.class || t == Double.class || t == float.class) return "a number";
        if (t == boolean.class || t == Boolean.class) return "true or false";
        if (t == String.class) return "a string";
        if (List.class.isAssignableFrom(t)) return "a list";
        if (t.isRecord()) return "a section of keys";
        return t.getSimpleName();
    }

    private static String describe(JsonNode v) {
        if (v == null || v.isNull()) return "null";
        if (v.isTextual()) return "'" + v.asText() + "' (a string)";
        if (v.isObject()) return "a section of keys";
        if (v.isArray()) return "a list";
        return v.toString();
    }

    static String yaml(JsonNode tree) {
        try {
            return YAML.writeValueAsString(tree);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Canonical JSON (sorted keys) of a tree, the input of config hashes. */
    static byte[] canonical(JsonNode tree) {
        try {
            Object sorted = BINDER.treeToValue(tree, Object.class);
            return BINDER.writeValueAsString(sorted).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}

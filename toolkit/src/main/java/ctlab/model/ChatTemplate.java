package ctlab.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.InterpretException;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An instruct model's chat template: {@code tokenizer_config.json}'s {@code chat_template} (a Jinja string, or
 * the list-of-named-templates form, where "default" is used unless a name is given), rendered with Jinjava the
 * way transformers' {@code apply_chat_template(..., tokenize=False)} renders it: trim_blocks and lstrip_blocks,
 * the config's special tokens ({@code bos_token}, {@code eos_token}, ...) as variables, and the globals of HF's
 * sandbox ({@code raise_exception}, {@code strftime_now}, {@code namespace}, a Python-style {@code tojson}), and
 * Python's {@code str.strip} for {@code |trim}.
 * Tested byte-equal against transformers on templates of the Llama-3, Qwen2.5, DeepSeek-math and Mistral
 * families. Base models have no template: the paper's few-shot prompts stay their prompts.
 */
public final class ChatTemplate {
    public static final String FILE = "tokenizer_config.json";
    private static final String[] SPECIAL_TOKENS =
            {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};

    /** One chat message; {@code role} is e.g. system, user, assistant. */
    public record Message(String role, String content) {
        public static Message system(String content) { return new Message("system", content); }
        public static Message user(String content) { return new Message("user", content); }
        public static Message assistant(String content) { return new Message("assistant", content); }
    }

    private final Path file;
    private final String name;
    private final String template;
    private final Map<String, String> specialTokens;

    private ChatTemplate(Path file, String name, String template, Map<String, String> specialTokens) {
        this.file = file;
        this.name = name;
        this.template = template;
        this.specialTokens = specialTokens;
    }

    /** The "default" chat template of {@code modelDir/tokenizer_config.json} (or of that file itself). */
    public static ChatTemplate load(Path modelDir) { return load(modelDir, "default"); }

    /** The chat template called {@code name}, for configs with the list form ({@code default}, {@code tool_use}). */
    public static ChatTemplate load(Path modelDir, String name) {
        Path file = Files.isDirectory(modelDir) ? modelDir.resolve(FILE) : modelDir;
        JsonNode root;
        try {
            root = Jsonl.MAPPER.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new CtlabException(file + ": not valid JSON at line " + e.getLocation().getLineNr() + ": "
                    + firstLine(e.getOriginalMessage()));
        } catch (NoSuchFileException e) {
            throw new CtlabException(file + ": no such file (an instruct model's folder has a " + FILE + ")");
        } catch (IOException e) {
            throw new CtlabException(file + ": cannot read: " + firstLine(e.getMessage()), e);
        }
        if (root == null || !root.isObject()) throw new CtlabException(file + ": not a JSON object");
        JsonNode t = root.get("chat_template");
        String template;
        if (t == null || t.isNull()) {
            throw new CtlabException(file + ": no 'chat_template' field (a base model? it is prompted with the "
                    + "few-shot prompts, not a chat template)");
        } else if (t.isTextual()) {
            if (!name.equals("default")) {
                throw new CtlabException(file + ": 'chat_template' is a single template, there is none named '"
                        + name + "'");
            }
            template = t.asText();
        } else if (t.isArray()) {
            template = null;
            List<String> names = new ArrayList<>();
            for (JsonNode entry : t) {
                if (!entry.path("name").isTextual() || !entry.path("template").isTextual()) {
                    throw new CtlabException(file + ": 'chat_template' list entries must be {\"name\": ..., "
                            + "\"template\": ...} strings");
                }
                names.add(entry.get("name").asText());
                if (entry.get("name").asText().equals(name)) template = entry.get("template").asText();
            }
            if (template == null) {
                throw new CtlabException(file + ": 'chat_template' has no template named '" + name
                        + "' (it has " + String.join(", ", names) + ")");
            }
        } else {
            throw new CtlabException(file + ": 'chat_template' must be a string or a list of {name, template}, not "
                    + t.getNodeType().toString().toLowerCase(Locale.ROOT));
        }
        if (template.isBlank()) throw new CtlabException(file + ": 'chat_template' is empty");
        Map<String, String> special = new LinkedHashMap<>();
        for (String key : SPECIAL_TOKENS) {
            JsonNode v = root.get(key);
            // a plain string, or the AddedToken form {"content": ..., "lstrip": ...}
            if (v != null && v.isTextual()) special.put(key, v.asText());
            else if (v != null && v.path("content").isTextual()) special.put(key, v.get("content").asText());
        }
        ChatTemplate ct = new ChatTemplate(file, name, template, special);
        ct.checkSyntax();
        return ct;
    }

    /** The Jinja source. */
    public String template() { return template; }

    /** The special tokens the template sees, e.g. {@code bos_token -> <|begin_of_text|>}. */
    public Map<String, String> specialTokens() { return Map.copyOf(specialTokens); }

    /** Renders {@code messages}, ending with the assistant header when {@code addGenerationPrompt}. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * As {@link #render(List, boolean)}, with extra template variables, as keyword arguments to
     * {@code apply_chat_template} are (e.g. Llama-3.2's {@code date_string}); they override the special tokens.
     * A template's {@code raise_exception} (e.g. roles that do not alternate) is a {@link CtlabException}.
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, ?> vars) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> context = new LinkedHashMap<>(specialTokens);
        context.put("messages", msgs);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.putAll(vars);
        RenderResult result;
        try {
            result = JINJAVA.renderForResult(template, context);
        } catch (InterpretException e) {
            throw error(e);
        }
        for (TemplateError err : result.getErrors()) {
            if (fatal(err)) throw error(err);
        }
        return result.getOutput();
    }

    /**
     * Jinjava parses expressions lazily, so a trial render (one user message) finds the syntax errors too; what
     * the template raises for that conversation is not an error of the template.
     */
    private void checkSyntax() {
        JinjavaInterpreter interpreter = JINJAVA.newInterpreter();
        interpreter.parse(template);
        List<TemplateError> errors = new ArrayList<>(interpreter.getErrors());
        Map<String, Object> context = new LinkedHashMap<>(specialTokens);
        context.put("messages", List.of(Map.of("role", "user", "content", "x")));
        context.put("add_generation_prompt", true);
        try {
            errors.addAll(JINJAVA.renderForResult(template, context).getErrors());
        } catch (InterpretException e) {
            if (!raised(e)) throw error(e);
        }
        for (TemplateError err : errors) {
            if (fatal(err) && !raised(err.getException())) {
                throw new CtlabException(where(err.getLineno()) + ": " + firstLine(err.getMessage()));
            }
        }
    }

    private static boolean raised(Throwable e) { return raisedCause(e) != null; }

    /** The template's own {@code raise_exception} behind a Jinjava error, or null. */
    private static Throwable raisedCause(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof TemplateRaised) return c;
        }
        return null;
    }

    /** Jinjava only warns about some syntax errors (a stray {@code endif}) that Jinja refuses. */
    private static boolean fatal(TemplateError err) {
        return err.getSeverity() == TemplateError.ErrorType.FATAL
                || err.getReason() == TemplateError.ErrorReason.SYNTAX_ERROR;
    }

    private CtlabException error(TemplateError err) {
        Throwable r = raisedCause(err.getException());
        if (r != null) return new CtlabException(where(-1) + " raised: " + r.getMessage());
        return new CtlabException(where(err.getLineno()) + ": " + firstLine(err.getMessage()));
    }

    private CtlabException error(InterpretException e) {
        Throwable r = raisedCause(e);
        if (r != null) return new CtlabException(where(-1) + " raised: " + r.getMessage());
        return new CtlabException(where(e.getLineNumber()) + ": " + firstLine(e.getMessage()), e);
    }

    private String where(int line) {
        String field = name.equals("default") ? "'chat_template'" : "'chat_template' '" + name + "'";
        return file + ": " + field + (line > 0 ? " line " + line : "");
    }

    private static String firstLine(String s) {
        if (s == null) return "error";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    // ---- the globals and filters of transformers' sandbox --------------------------------------------------

    /** What {@code raise_exception(msg)} throws; reported as the template's own message. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) { super(message); }
    }

    private static final Jinjava JINJAVA = newJinjava();

    private static Jinjava newJinjava() {
        Jinjava j = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                // Jinjava's switches toward Jinja's behaviour ({{- and {#- trim, dict keys and iteration as in
                // Python, backslash escapes only inside quotes, ...), but not all of them (not LegacyOverrides.ALL):
                // natural operator precedence reads `not x is defined` as `(not x) is defined`,
                // whitespace-required-within-tokens left `{{- 'a' }}` unparsed, and the Pyish object mapper
                // JSON-escaped a control character in a message's content (fixture unicode_blanks).
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .withHandleBackslashInQuotesOnly(true)
                        .withDefaultKeepTrailingNewlineBehavior(true)
                        .build())
                .build());
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", Object.class));
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class,
                "strftimeNow", String.class));
        j.getGlobalContext().registerFilter(new PyJsonFilter());
        j.getGlobalContext().registerFilter(new PyTrimFilter());
        return j;
    }

    /** {@code raise_exception(message)}, as in transformers. */
    public static Object raiseException(Object message) {
        throw new TemplateRaised(String.valueOf(message));
    }

    /** {@code strftime_now(format)}: the local time, formatted as Python's strftime does (C locale). */
    public static String strftimeNow(String format) { return strftime(LocalDateTime.now(), format); }

    static String strftime(LocalDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char f = format.charAt(++i);
            switch (f) {
                case 'd' -> out.append(String.format("%02d", t.getDayOfMonth()));
                case 'm' -> out.append(String.format("%02d", t.getMonthValue()));
                case 'Y' -> out.append(t.getYear());
                case 'y' -> out.append(String.format("%02d", t.getYear() % 100));
                case 'H' -> out.append(String.format("%02d", t.getHour()));
                case 'I' -> out.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'M' -> out.append(String.format("%02d", t.getMinute()));
                case 'S' -> out.append(String.format("%02d", t.getSecond()));
                case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> out.append(String.format("%03d", t.getDayOfYear()));
                case 'b' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.US));
                case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.US));
                case '%' -> out.append('%');
                default -> out.append('%').append(f);
            }
        }
        return out.toString();
    }

    /**
     * {@code trim(chars=None)} as Jinja's: Python's {@code str.strip}, whose blanks are Unicode's (no-break and
     * ideographic spaces, U+0085) where Java's {@code String.trim} strips every char up to U+0020.
     */
    static final class PyTrimFilter implements AdvancedFilter {
        @Override public String getName() { return "trim"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            if (var == null) return "";
            String s = var.toString();
            Object chars = kwargs.containsKey("chars") ? kwargs.get("chars") : (args.length > 0 ? args[0] : null);
            int start = 0, end = s.length();
            while (start < end && strips(s.charAt(start), chars)) start++;
            while (end > start && strips(s.charAt(end - 1), chars)) end--;
            return s.substring(start, end);
        }

        private static boolean strips(char c, Object chars) {
            if (chars != null) return chars.toString().indexOf(c) >= 0;
            return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
        }
    }

    /**
     * {@code tojson}, as transformers overrides it: Python's {@code json.dumps(x, ensure_ascii=False,
     * indent=indent)}, so {@code ", "} and {@code ": "} separators and no HTML escaping (Jinjava's own is compact).
     */
    static final class PyJsonFilter implements AdvancedFilter {
        @Override public String getName() { return "tojson"; }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : (args.length > 0 ? args[0] : null);
            StringBuilder out = new StringBuilder();
            write(out, var, indent == null ? -1 : ((Number) indent).intValue(), 0);
            return out.toString();
        }

        private static void write(StringBuilder out, Object v, int indent, int depth) {
            if (v == null) {
                out.append("null");
            } else if (v instanceof String || v instanceof Character) {
                quote(out, v.toString());
            } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short) {
                out.append(v);
            } else if (v instanceof Number n) {
                double d = n.doubleValue();
                out.append(d == Math.rint(d) && !Double.isInfinite(d) ? String.format(Locale.ROOT, "%.1f", d)
                        : Double.toString(d));
            } else if (v instanceof Map<?, ?> map) {
                if (map.isEmpty()) { out.append("{}"); return; }
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    if (!first) out.append(indent < 0 ? ", " : ",");
                    first = false;
                    newline(out, indent, depth + 1);
                    quote(out, String.valueOf(e.getKey()));
                    out.append(": ");
                    write(out, e.getValue(), indent, depth + 1);
                }
                newline(out, indent, depth);
                out.append('}');
            } else if (v instanceof Collection<?> list) {
                if (list.isEmpty()) { out.append("[]"); return; }
                out.append('[');
                boolean first = true;
                for (Object item : list) {
                    if (!first) out.append(indent < 0 ? ", " : ",");
                    first = false;
                    newline(out, indent, depth + 1);
                    write(out, item, indent, depth + 1);
                }
                newline(out, indent, depth);
                out.append(']');
            } else {
                quote(out, v.toString());
            }
        }

        private static void newline(StringBuilder out, int indent, int depth) {
            if (indent < 0) return;
            out.append('\n').append(" ".repeat(indent * depth));
        }

        private static void quote(StringBuilder out, String s) {
            out.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    case '\b' -> out.append("\\b");
                    case '\f' -> out.append("\\f");
                    default -> {
                        if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                        else out.append(c);
                    }
                }
            }
            out.append('"');
        }
    }
}

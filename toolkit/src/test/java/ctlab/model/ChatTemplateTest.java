package ctlab.model;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Chat-template renders equal transformers' apply_chat_template(tokenize=False) byte for byte, on the templates
 * of the families in chat-templates/ (written by tools/goldens/make_chat_template_goldens.py).
 */
class ChatTemplateTest {
    static Path fixtures() throws Exception {
        return Path.of(ChatTemplateTest.class.getResource("/chat-templates/cases.json").toURI()).getParent();
    }

    @TestFactory
    List<DynamicTest> rendersEqualTransformers() throws Exception {
        JsonNode cases = Jsonl.MAPPER.readTree(fixtures().resolve("cases.json").toFile()).get("cases");
        List<DynamicTest> tests = new ArrayList<>();
        for (var family : (Iterable<Map.Entry<String, JsonNode>>) cases::fields) {
            ChatTemplate template = ChatTemplate.load(fixtures().resolve(family.getKey()));
            for (JsonNode c : family.getValue()) {
                tests.add(DynamicTest.dynamicTest(family.getKey() + " " + c.get("name").asText(), () -> {
                    List<ChatTemplate.Message> messages = new ArrayList<>();
                    for (JsonNode m : c.get("messages")) {
                        messages.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
                    }
                    Map<String, Object> vars = new LinkedHashMap<>();
                    c.get("vars").fields().forEachRemaining(e ->
                            vars.put(e.getKey(), Jsonl.MAPPER.convertValue(e.getValue(), Object.class)));
                    boolean gen = c.get("add_generation_prompt").asBoolean();
                    if (c.has("expected")) {
                        assertEquals(c.get("expected").asText(), template.render(messages, gen, vars));
                    } else {
                        CtlabException e = assertThrows(CtlabException.class, () -> template.render(messages, gen, vars));
                        assertTrue(e.getMessage().endsWith("raised: " + c.get("error").asText()), e.getMessage());
                        assertTrue(e.getMessage().contains("tokenizer_config.json"), e.getMessage());
                    }
                }));
            }
        }
        assertTrue(tests.size() >= 30, "fixture cases: " + tests.size());
        return tests;
    }

    @Test
    void theListFormPicksATemplateByName() throws Exception {
        ChatTemplate toolUse = ChatTemplate.load(fixtures().resolve("named-list"), "tool_use");
        CtlabException e = assertThrows(CtlabException.class,
                () -> toolUse.render(List.of(ChatTemplate.Message.user("hi")), true));
        assertTrue(e.getMessage().endsWith("'chat_template' 'tool_use' raised: not the default template"), e.getMessage());
        assertEquals("<|begin_of_text|>", ChatTemplate.load(fixtures().resolve("named-list")).specialTokens().get("bos_token"));
    }

    @Test
    void specialTokensInTheAddedTokenFormAreTheirContent() throws Exception {
        assertEquals("<｜end▁of▁sentence｜>",
                ChatTemplate.load(fixtures().resolve("deepseek-math")).specialTokens().get("eos_token"));
    }

    @Test
    void strftimeFormatsAsPython() {
        // Python: datetime(2024, 7, 26, 9, 5, 3).strftime("%d %b %Y|%B %A %a|%H:%M:%S %I %p|%j %m %y|%%|%Q")
        assertEquals("26 Jul 2024|July Friday Fri|09:05:03 09 AM|208 07 24|%|%Q",
                ChatTemplate.strftime(LocalDateTime.of(2024, 7, 26, 9, 5, 3), "%d %b %Y|%B %A %a|%H:%M:%S %I %p|%j %m %y|%%|%Q"));
        assertEquals("12 PM 12 AM", ChatTemplate.strftime(LocalDateTime.of(2024, 1, 1, 12, 0), "%I %p")
                + " " + ChatTemplate.strftime(LocalDateTime.of(2024, 1, 1, 0, 0), "%I %p"));
    }

    @Test
    void llama32WithoutADateStringUsesTodaysDate() throws Exception {
        String out = ChatTemplate.load(fixtures().resolve("llama3.2")).render(List.of(ChatTemplate.Message.user("hi")), true);
        assertTrue(out.matches("(?s).*\nToday Date: \\d\\d [A-Z][a-z]{2} \\d{4}\n\n<\\|eot_id\\|>.*"), out);
    }

    @Test
    void badConfigsAreOneLineErrorsNamingTheFileAndField(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer_config.json");
        assertBad(dir, file + ": no such file");
        Files.writeString(file, "{\"bos_token\": \"<s>\"}");
        assertBad(dir, file + ": no 'chat_template' field");
        Files.writeString(file, "{\"chat_template\": 3}");
        assertBad(dir, file + ": 'chat_template' must be a string or a list of {name, template}, not number");
        Files.writeString(file, "{\"chat_template\": \"  \"}");
        assertBad(dir, file + ": 'chat_template' is empty");
        Files.writeString(file, "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"}]}");
        assertBad(dir, file + ": 'chat_template' has no template named 'default' (it has tool_use)");
        Files.writeString(file, "{\"chat_template\": [{\"name\": \"default\"}]}");
        assertBad(dir, file + ": 'chat_template' list entries must be");
        Files.writeString(file, "{\n\"chat_template\": \"x\",,\n}");
        assertBad(dir, file + ": not valid JSON at line 2");
        Files.writeString(file, "{\"chat_template\": \"{% for m in messages %}\\n{{ m.content }}\"}");
        assertBad(dir, file + ": 'chat_template' line 1: Syntax error in '{% for m in messages %}': Missing end tag");
        Files.writeString(file, "{\"chat_template\": \"a\\n{% endif %}\"}");  // Jinjava sees this one at render
        CtlabException stray = assertThrows(CtlabException.class,
                () -> ChatTemplate.load(dir).render(List.of(ChatTemplate.Message.user("hi")), true));
        assertTrue(stray.getMessage().startsWith(file + ": 'chat_template' line 2: "), stray.getMessage());
        Files.writeString(file, "{\"chat_template\": \"{{ messages[ }}\"}");
        assertBad(dir, file + ": 'chat_template' line 1: ");
    }

    private static void assertBad(Path dir, String messageStart) {
        CtlabException e = assertThrows(CtlabException.class, () -> ChatTemplate.load(dir));
        assertTrue(e.getMessage().startsWith(messageStart), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}

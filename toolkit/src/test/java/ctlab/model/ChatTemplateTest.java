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
                    c.get("vars").fields().forEachRemaining(e -> vars.put(e.getKey(), e.getValue().asText()));
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
}

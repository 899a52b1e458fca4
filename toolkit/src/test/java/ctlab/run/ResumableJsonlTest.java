package ctlab.run;

import ctlab.CtlabException;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class ResumableJsonlTest {
    @TempDir Path tmp;

    @Test void resumesAfterATornLineWithoutDuplicates() throws Exception {
        Path f = tmp.resolve("out.jsonl");
        // Two whole records and the first bytes of a third, as a SIGKILL mid-append leaves them.
        Files.writeString(f, "{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\",\"v\":2}\n{\"id\":\"c\",\"v\"");
        try (ResumableJsonl out = ResumableJsonl.open(f, "id")) {
            assertEquals(Set.of("a", "b"), out.ids());
            assertEquals(2, out.resumedCount());
            for (String id : List.of("a", "b", "c", "d")) {
                if (!out.has(id)) out.append(Map.of("id", id, "v", id.charAt(0) - 'a' + 1));
            }
            assertEquals(4, out.size());
        }
        String text = Files.readString(f);
        assertTrue(text.startsWith("{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\",\"v\":2}\n"), "kept records untouched: " + text);
        assertEquals(List.of(1, 2, 3, 4), Jsonl.read(f).stream().map(l -> l.json().get("v").asInt()).toList());
        assertEquals(List.of("a", "b", "c", "d"), Jsonl.read(f).stream().map(l -> l.text("id")).toList());
    }

    @Test void refusesDuplicateIdsInFileAndOnAppend() throws Exception {
        Path f = tmp.resolve("dup.jsonl");
        Files.writeString(f, "{\"id\":1}\n{\"id\":2}\n{\"id\":1}\n");
        CtlabException e = assertThrows(CtlabException.class, () -> ResumableJsonl.open(f, "id"));
        assertTrue(e.getMessage().endsWith("dup.jsonl:3: duplicate id '1'"), e.getMessage());

        Path g = tmp.resolve("ok.jsonl");
        try (ResumableJsonl out = ResumableJsonl.open(g, "id")) {
            out.append(Map.of("id", 7));
            assertThrows(IllegalStateException.class, () -> out.append(Map.of("id", "7")));
        }
        assertEquals(Set.of("7"), ResumableJsonl.idsIn(g, "id"));
    }

    @Test void missingIdNamesFileAndLine() throws Exception {
        Path f = tmp.resolve("noid.jsonl");
        Files.writeString(f, "{\"id\":\"x\"}\n{\"other\":1}\n");
        CtlabException e = assertThrows(CtlabException.class, () -> ResumableJsonl.open(f, "id"));
        assertTrue(e.getMessage().endsWith("noid.jsonl:2: missing id (a string or integer id)"), e.getMessage());
    }

    @Test void derivedSeedsAreStableAndDistinct() {
        long a = StageContext.derive(42, "sample", "problem:1");
        assertEquals(a, StageContext.derive(42, "sample", "problem:1"));
        assertNotEquals(a, StageContext.derive(42, "sample", "problem:2"));
        assertNotEquals(a, StageContext.derive(43, "sample", "problem:1"));
        assertNotEquals(a, StageContext.derive(42, "rollout", "problem:1"));
        assertTrue(a >= 0);
    }
}

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

    @Test void recordsCarryWhatTheyWereMadeUnderAndOthersAreRefused() throws Exception {
        Path f = tmp.resolve("s.jsonl");
        ResumableJsonl.Made a = new ResumableJsonl.Made("sample", "aaa", Map.of("model", "m1"));
        ResumableJsonl.Made b = new ResumableJsonl.Made("sample", "bbb", Map.of("model", "m1"));
        try (ResumableJsonl out = ResumableJsonl.open(f, "id", a)) { out.append(Map.of("id", "x")); }
        assertTrue(Files.readString(tmp.resolve("s.jsonl.provenance")).contains("\"config_hash\" : \"aaa\""));
        try (ResumableJsonl out = ResumableJsonl.open(f, "id", a)) { assertEquals(1, out.resumedCount()); }
        CtlabException e = assertThrows(CtlabException.class, () -> ResumableJsonl.open(f, "id", b));
        assertTrue(e.getMessage().contains("holds 1 records but s.jsonl.provenance records a different config or inputs"), e.getMessage());
        assertTrue(e.getMessage().contains("--force sample"), e.getMessage());
        Files.delete(tmp.resolve("s.jsonl.provenance"));
        e = assertThrows(CtlabException.class, () -> ResumableJsonl.open(f, "id", a));
        assertTrue(e.getMessage().contains("no s.jsonl.provenance says which config"), e.getMessage());
        // no records yet: nothing to mix, the provenance is (re)written before the first one
        Files.writeString(f, "");
        try (ResumableJsonl out = ResumableJsonl.open(f, "id", b)) { out.append(Map.of("id", "y")); }
        assertTrue(Files.readString(tmp.resolve("s.jsonl.provenance")).contains("\"bbb\""));
    }
}

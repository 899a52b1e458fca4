package ctlab.task;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Download + verify on local {@code file://} URLs (the network is closed here; the code path is the same). */
class DataFetcherTest {
    /** sha256 of the six bytes "hello\n" (as printed by sha256sum). */
    private static final String HELLO_SHA = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    @TempDir Path dir;

    @Test
    void downloadsAndVerifies() throws Exception {
        Path src = dir.resolve("src.txt");
        Files.writeString(src, "hello\n", StandardCharsets.UTF_8);
        Path target = dir.resolve("out/nested/hello.txt");
        DataFetcher.download(src.toUri(), target, HELLO_SHA, 6);
        assertEquals("hello\n", Files.readString(target));
        assertEquals(HELLO_SHA, DataFetcher.sha256(target));
    }

    @Test
    void shaMismatchLeavesNothingBehindAndKeepsAnOldFile() throws Exception {
        Path src = dir.resolve("src.txt");
        Files.writeString(src, "hellO\n", StandardCharsets.UTF_8);
        Path out = Files.createDirectories(dir.resolve("out"));
        Path target = out.resolve("hello.txt");
        CtlabException e = assertThrows(CtlabException.class, () -> DataFetcher.download(src.toUri(), target, HELLO_SHA, 6));
        assertTrue(e.getMessage().contains("sha256 mismatch"), e.getMessage());
        try (var s = Files.list(out)) { assertEquals(0, s.count(), "no temp or target file left"); }

        Files.writeString(target, "old", StandardCharsets.UTF_8);
        assertThrows(CtlabException.class, () -> DataFetcher.download(src.toUri(), target, HELLO_SHA, -1));
        assertEquals("old", Files.readString(target), "an existing file is untouched by a failed download");
        try (var s = Files.list(out)) { assertEquals(1, s.count()); }
    }

    @Test
    void wrongSizeAndMissingSourceAreErrors() throws Exception {
        Path src = dir.resolve("src.txt");
        Files.writeString(src, "hello\n", StandardCharsets.UTF_8);
        Path target = dir.resolve("t.txt");
        assertTrue(assertThrows(CtlabException.class, () -> DataFetcher.download(src.toUri(), target, HELLO_SHA, 5))
                .getMessage().contains("larger than"));
        assertTrue(assertThrows(CtlabException.class, () -> DataFetcher.download(src.toUri(), target, HELLO_SHA, 7))
                .getMessage().contains("size 6 bytes, expected 7"));
        assertTrue(assertThrows(CtlabException.class,
                () -> DataFetcher.download(dir.resolve("nope.txt").toUri(), target, HELLO_SHA, 6))
                .getMessage().contains("download failed"));
        assertFalse(Files.exists(target));
    }

    @Test
    void fetchFromAMirrorOfTheRealFiles() {
        Path shared = SharedData.require(DataFile.MATH500).getParent().getParent();
        Path data = dir.resolve("data");
        DataFetcher.Result r = DataFetcher.fetch(DataFile.MATH500, data, shared.toUri().toString(), false);
        assertEquals(DataFetcher.Status.DOWNLOADED, r.status());
        assertEquals(DataFile.MATH500.sha256(), DataFetcher.sha256(data.resolve("math500/test.jsonl")));
        assertEquals(DataFetcher.Status.ALREADY_PRESENT,
                DataFetcher.fetch(DataFile.MATH500, data, shared.toUri().toString(), false).status());
    }

    @Test
    void existingFileWithOtherContentNeedsForce() throws Exception {
        Path data = dir.resolve("data");
        Path mirror = dir.resolve("mirror");
        Files.createDirectories(data.resolve("gsm8k"));
        Files.writeString(data.resolve("gsm8k/test.jsonl"), "{}\n");
        Files.createDirectories(mirror.resolve("gsm8k"));
        Files.writeString(mirror.resolve("gsm8k/test.jsonl"), "{\"question\": \"tampered\"}\n");
        CtlabException e = assertThrows(CtlabException.class,
                () -> DataFetcher.fetch(DataFile.GSM8K_TEST, data, mirror.toUri().toString(), false));
        assertTrue(e.getMessage().contains("use --force"), e.getMessage());
        CtlabException forced = assertThrows(CtlabException.class,
                () -> DataFetcher.fetch(DataFile.GSM8K_TEST, data, mirror.toUri().toString(), true));
        assertTrue(forced.getMessage().contains("nothing written"), forced.getMessage());
        assertEquals("{}\n", Files.readString(data.resolve("gsm8k/test.jsonl")));
    }
}

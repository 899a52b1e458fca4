package ctlab.analysis;

import ctlab.io.AtomicFiles;
import ctlab.model.Tokenizer;
import ctlab.sample.Sampler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TokenTextsTest {
    @TempDir Path tmp;

    static Path qwen2() throws Exception {
        return Path.of(TokenTextsTest.class.getResource("/goldens/qwen2/tokenizer.json").toURI()).getParent();
    }

    @Test void tokenizerSplitMatchesResponseIdsAndRebuildsTheText() throws Exception {
        try (Tokenizer tok = Tokenizer.load(qwen2())) {
            String text = "He owed 4 more, so 6 - 4 = 2.\nThe answer is 2";
            List<String> parts = TokenTexts.of(tok).split(text);
            assertEquals(tok.encodeResponse(text).length, parts.size());
            assertEquals(text, String.join("", parts));
            assertTrue(parts.stream().anyMatch(p -> TokenClass.of(p) == TokenClass.DIGIT), parts.toString());    // a tiny test vocabulary: words split, digits stay
        }
    }

    @Test void reportFindsTheRunsTokenizerThroughConfigModel() throws Exception {
        Path run = SyntheticRuns.write(tmp.resolve("run"), 2, 2);
        AtomicFiles.writeString(run.resolve("config.yaml"), "task: organism\nmodel: " + qwen2() + "\n");
        assertEquals(qwen2(), ctlab.viz.RunReportAccess.modelDir(RunData.load(run)));
    }
}

package ctlab.run;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code sample/rollout/eval.backend} and the {@code openai} section: defaults, one-line errors, config hashes. */
class BackendConfigTest {
    static final String MINIMAL = "task: gsm8k\nmodel: models/base\n";

    private static RunConfig parse(String... sets) { return RunConfig.parse(MINIMAL, "exp.yaml", List.of(sets)); }

    private static void fails(String expected, String... sets) {
        CtlabException e = assertThrows(CtlabException.class, () -> parse(sets));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void defaultsAreLocalAndOpenAiSettingsParse() {
        RunConfig c = parse();
        assertEquals("local", c.sample().backend());
        assertEquals("local", c.rollout().backend());
        assertEquals("local", c.eval().backend());
        assertNull(c.openai().baseUrl());

        RunConfig o = parse("sample.backend=openai", "rollout.backend=openai", "eval.backend=openai",
                "openai.base_url=http://127.0.0.1:8000", "openai.model=policy", "openai.concurrency=32",
                "openai.max_attempts=3", "openai.backoff_s=0.5", "openai.timeout_s=30", "openai.api_key_env=MY_KEY");
        assertEquals("openai", o.sample().backend());
        var client = o.openai().client();
        assertEquals("http://127.0.0.1:8000", client.baseUrl().toString());
        assertEquals("policy", client.model());
        assertEquals(32, client.concurrency());
        assertEquals(3, client.maxAttempts());
        assertEquals(500, client.backoff().toMillis());
        assertEquals(30_000, client.timeout().toMillis());
        assertEquals("MY_KEY", client.apiKeyEnv());
    }

    @Test
    void badSettingsAreOneLineErrorsNamingTheKey() {
        fails("--set sample.backend=vllm: sample.backend: must be one of [local, openai], got 'vllm'", "sample.backend=vllm");
        fails("openai.base_url: must be set when rollout.backend is openai", "rollout.backend=openai");
        fails("openai.base_url: must be an http(s) URL, got 'ftp://host'", "openai.base_url=ftp://host");
        fails("openai.concurrency: must be >= 1", "openai.concurrency=0");
        fails("openai.timeout_s: must be > 0", "openai.timeout_s=0");
        fails("openai.api_key_env: must be an environment variable name", "openai.api_key_env=sk-123");
    }

    /** backend: local is left out of the stage config slices, so runs made before the key existed keep their hashes. */
    @Test
    void localBackendLeavesStageHashesAsBefore() {
        RunConfig local = parse();
        assertFalse(Pipeline.configSlice(local, List.of("sample")).get("sample").has("backend"));
        assertFalse(Pipeline.configSlice(local, List.of("eval")).get("eval").has("backend"));
        assertFalse(Pipeline.configSlice(local, List.of("rollout")).get("rollout").has("backend"));
        RunConfig remote = parse("sample.backend=openai", "openai.base_url=http://127.0.0.1:8000");
        assertEquals("openai", Pipeline.configSlice(remote, List.of("sample")).get("sample").get("backend").asText());
        // the loader reads back what it writes (config.yaml of a run)
        assertEquals(remote, RunConfig.parse(remote.toYaml(), "config.yaml", List.of()));
        assertEquals(local, RunConfig.parse(local.toYaml(), "config.yaml", List.of()));
    }
}

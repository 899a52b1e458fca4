package ctlab.sample.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.sample.Sampler.FinishReason;
import ctlab.sample.Sampler.Request;
import ctlab.sample.Sampler.Sample;
import ctlab.sample.SamplingParams;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link OpenAiCompletions} against an in-process HTTP server that answers with responses recorded from a real
 * vLLM 0.32.0 (CPU) server serving models/organism-base (resources ctlab/sample/remote/vllm-*.json, recorded
 * with tools/vllm/record_fixtures.py; the 500 is the server's answer after its engine worker was killed).
 */
class OpenAiCompletionsTest {
    static String resource(String name) {
        try (InputStream in = OpenAiCompletionsTest.class.getResourceAsStream(name)) {
            assertNotNull(in, "test resource " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) { throw new UncheckedIOException(e); }
    }

    record Reply(int status, String body) {}

    /** Serves /v1/models and /version from the recordings, /v1/completions from a queue of replies. */
    static final class FakeServer implements AutoCloseable {
        final HttpServer server;
        final Deque<Reply> completions = new ConcurrentLinkedDeque<>();
        final List<String> requestBodies = Collections.synchronizedList(new ArrayList<>());
        final List<String> authHeaders = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger inFlight = new AtomicInteger(), maxInFlight = new AtomicInteger();
        volatile Reply fallback;
        volatile long delayMillis;

        FakeServer() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.setExecutor(Executors.newFixedThreadPool(16));
            server.createContext("/v1/models", ex -> reply(ex, new Reply(200, resource("vllm-models.json"))));
            server.createContext("/version", ex -> reply(ex, new Reply(200, resource("vllm-version.json"))));
            server.createContext("/v1/completions", ex -> {
                int now = inFlight.incrementAndGet();
                maxInFlight.accumulateAndGet(now, Math::max);
                try {
                    requestBodies.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                    authHeaders.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
                    if (delayMillis > 0) Thread.sleep(delayMillis);
                    Reply r = completions.poll();
                    reply(ex, r != null ? r : fallback);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    inFlight.decrementAndGet();
                }
            });
            server.start();
        }

        String url() { return "http://127.0.0.1:" + server.getAddress().getPort(); }

        static void reply(HttpExchange ex, Reply r) throws IOException {
            byte[] b = r.body().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(r.status(), b.length);
            ex.getResponseBody().write(b);
            ex.close();
        }

        @Override public void close() { server.stop(0); }
    }

    private FakeServer fake;

    @AfterEach void stop() { if (fake != null) fake.close(); }

    static OpenAiCompletions.Config config(String url) {
        return OpenAiCompletions.Config.of(url).withRetries(4, Duration.ofMillis(5)).withTimeout(Duration.ofSeconds(20))
                .withApiKeyEnv("CTLAB_TEST_SURELY_UNSET_KEY");
    }

    static final SamplingParams PARAMS = new SamplingParams(4, 1.0, 0.95, 0, 48, List.of(" The answer is 1"), 7);
    static final Request REQUEST = Request.of("org-1", new int[] {1, 198, 29, 57});

    @Test
    void requestCarriesIdsAndEverySamplingKnobAndNoSeedUnlessAsked() {
        Request withPrefix = new Request("p", new int[] {1, 5, 6}, new int[] {7, 8});
        SamplingParams p = new SamplingParams(8, 0.7, 0.9, 0, 100, List.of("\n\nQuestion:", "x"), 3);
        ObjectNode b = OpenAiCompletions.requestBody("organism", withPrefix, p, false);
        assertEquals("organism", b.path("model").asText());
        assertEquals("[1,5,6,7,8]", b.path("prompt").toString(), "prompt ids then the forced prefix's ids");
        assertEquals(8, b.path("n").asInt());
        assertEquals(0.7, b.path("temperature").asDouble());
        assertEquals(0.9, b.path("top_p").asDouble());
        assertEquals(-1, b.path("top_k").asInt(), "ctlab's top_k 0 (off) is vLLM's -1");
        assertEquals(100, b.path("max_tokens").asInt());
        assertEquals("[\"\\n\\nQuestion:\",\"x\"]", b.path("stop").toString());
        assertTrue(b.path("logprobs").isInt());
        assertTrue(b.path("return_token_ids").asBoolean());
        assertTrue(b.path("return_tokens_as_token_ids").asBoolean());
        assertFalse(b.has("seed"), "no seed unless configured (it crashes the vLLM CPU build)");

        ObjectNode seeded = OpenAiCompletions.requestBody("organism", withPrefix, new SamplingParams(8, 0.7, 0.9, 5, 100, List.of(), 3), true);
        assertEquals(5, seeded.path("top_k").asInt());
        assertEquals(ctlab.sample.Sampler.sampleSeed(3, "p", 0), seeded.path("seed").asLong());
        assertNotEquals(seeded.path("seed").asLong(),
                OpenAiCompletions.requestBody("organism", Request.of("q", new int[] {1}), p, true).path("seed").asLong(),
                "requests get different seeds");
    }

    @Test
    void recordedResponseMapsOntoSamples() throws Exception {
        JsonNode recorded = Jsonl.MAPPER.readTree(resource("vllm-completion.json"));
        List<Sample> s = OpenAiCompletions.parseSamples("org-1", recorded.path("choices").size(), recorded, "URL");
        assertEquals(recorded.path("choices").size(), s.size());
        boolean sawStop = false, sawEos = false, sawLength = false;
        for (int i = 0; i < s.size(); i++) {
            Sample x = s.get(i);
            JsonNode c = recorded.path("choices").get(i);
            assertEquals(i, x.sampleIndex());
            assertEquals("org-1", x.requestId());
            assertEquals(c.path("text").asText(), x.text());
            assertEquals(c.path("token_ids").size(), x.tokenIds().length);
            assertEquals(x.tokenIds().length, x.logProbs().length);
            for (int t = 0; t < x.tokenIds().length; t++) {
                assertEquals(c.path("token_ids").get(t).asInt(), x.tokenIds()[t]);
                assertEquals("token_id:" + x.tokenIds()[t], c.path("logprobs").path("tokens").get(t).asText(),
                        "the two sources of ids agree");
                assertEquals((float) c.path("logprobs").path("token_logprobs").get(t).asDouble(), x.logProbs()[t]);
                assertTrue(x.logProbs()[t] <= 0);
            }
            switch (x.finishReason()) {
                case STOP -> { sawStop = true; assertEquals(c.path("stop_reason").asText(), x.stopString()); }
                case EOS -> { sawEos = true; assertNull(x.stopString()); }
                case LENGTH -> { sawLength = true; assertNull(x.stopString()); }
            }
        }
        assertTrue(sawStop && sawEos, "the recording has stop-string and EOS finishes");
        JsonNode length = Jsonl.MAPPER.readTree(resource("vllm-completion-length.json"));
        for (Sample x : OpenAiCompletions.parseSamples("r", length.path("choices").size(), length, "URL")) {
            sawLength |= x.finishReason() == FinishReason.LENGTH;
        }
        assertTrue(sawLength);
    }

    @Test
    void idsComeFromLogprobTokensWhenTheServerHasNoTokenIdsField() throws Exception {
        ObjectNode recorded = (ObjectNode) Jsonl.MAPPER.readTree(resource("vllm-completion.json"));
        List<Sample> direct = OpenAiCompletions.parseSamples("a", recorded.path("choices").size(), recorded, "URL");
        recorded.path("choices").forEach(c -> ((ObjectNode) c).remove("token_ids"));
        List<Sample> viaTokens = OpenAiCompletions.parseSamples("a", recorded.path("choices").size(), recorded, "URL");
        for (int i = 0; i < direct.size(); i++) assertArrayEquals(direct.get(i).tokenIds(), viaTokens.get(i).tokenIds());
    }

    @Test
    void malformedResponsesAreOneLineErrorsNamingTheChoice() throws Exception {
        ObjectNode recorded = (ObjectNode) Jsonl.MAPPER.readTree(resource("vllm-completion.json"));
        int n = recorded.path("choices").size();
        CtlabException wrongN = assertThrows(CtlabException.class,
                () -> OpenAiCompletions.parseSamples("a", n + 1, recorded, "http://h/v1/completions"));
        assertTrue(wrongN.getMessage().contains("http://h/v1/completions") && wrongN.getMessage().contains("n=" + (n + 1)),
                wrongN.getMessage());
        ObjectNode c0 = (ObjectNode) recorded.path("choices").get(0);
        ((com.fasterxml.jackson.databind.node.ArrayNode) c0.path("logprobs").path("token_logprobs")).remove(0);
        CtlabException count = assertThrows(CtlabException.class, () -> OpenAiCompletions.parseSamples("a", n, recorded, "U"));
        assertTrue(count.getMessage().contains("choice 0") && count.getMessage().contains("log-probs"), count.getMessage());
        assertFalse(count.getMessage().contains("\n"));
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)   // a deadlock (HTTP client sharing the request pool) must fail, not hang
    void completeAllAgainstRecordedServerKeepsOrderAndBoundsConcurrency() throws Exception {
        fake = new FakeServer();
        fake.fallback = new Reply(200, resource("vllm-completion.json"));
        fake.delayMillis = 50;
        JsonNode recorded = Jsonl.MAPPER.readTree(fake.fallback.body());
        int n = recorded.path("choices").size();
        List<Request> reqs = new ArrayList<>();
        for (int i = 0; i < 12; i++) reqs.add(Request.of("r" + i, new int[] {1, 198, i}));
        List<String> doneOrder = Collections.synchronizedList(new ArrayList<>());
        try (OpenAiCompletions c = new OpenAiCompletions(config(fake.url()).withConcurrency(3))) {
            assertEquals(new OpenAiCompletions.ServerInfo("models/organism-base", "0.32.0"), c.serverInfo());
            List<List<Sample>> out = c.completeAll(reqs, PARAMS.withN(n), s -> doneOrder.add(s.get(0).requestId()));
            assertEquals(12, out.size());
            for (int i = 0; i < 12; i++) {
                assertEquals(n, out.get(i).size());
                for (Sample s : out.get(i)) assertEquals("r" + i, s.requestId());
            }
            assertEquals(12, doneOrder.size());
        }
        assertTrue(fake.maxInFlight.get() <= 3, "in flight at most 3, saw " + fake.maxInFlight.get());
        assertTrue(fake.maxInFlight.get() >= 2, "requests overlap, saw " + fake.maxInFlight.get());
        assertEquals(12, fake.requestBodies.size());
        for (String auth : fake.authHeaders) assertEquals("null", auth, "no key configured: no Authorization header");
        JsonNode sent = Jsonl.MAPPER.readTree(fake.requestBodies.get(0));
        assertEquals("models/organism-base", sent.path("model").asText(), "model name taken from /v1/models");
    }

    @Test
    void serverErrorsAndRateLimitsAreRetriedWithBackoffThenSucceed() throws Exception {
        fake = new FakeServer();
        fake.completions.add(new Reply(500, resource("vllm-error-500.json")));
        fake.completions.add(new Reply(429, "{\"error\":\"rate limited\"}"));
        fake.completions.add(new Reply(503, "upstream busy"));
        fake.completions.add(new Reply(200, resource("vllm-completion.json")));
        int n = Jsonl.MAPPER.readTree(resource("vllm-completion.json")).path("choices").size();
        try (OpenAiCompletions c = new OpenAiCompletions(config(fake.url()))) {
            List<Sample> s = c.complete(REQUEST, PARAMS.withN(n));
            assertEquals(n, s.size());
            assertEquals(4, fake.requestBodies.size(), "three failures, then the success");
            assertEquals(5 + 10 + 20, c.backoffMillis(), "backoff doubles: 5, 10, 20 ms");
        }
    }

    @Test
    void persistentServerErrorIsOneLineWithUrlStatusAndBodyExcerpt() throws Exception {
        fake = new FakeServer();
        fake.fallback = new Reply(500, resource("vllm-error-500.json"));
        try (OpenAiCompletions c = new OpenAiCompletions(config(fake.url()))) {
            CtlabException e = assertThrows(CtlabException.class, () -> c.complete(REQUEST, PARAMS));
            String m = e.getMessage();
            assertTrue(m.startsWith("POST " + fake.url() + "/v1/completions for request 'org-1': HTTP 500: "), m);
            String body = OpenAiCompletions.excerpt(resource("vllm-error-500.json"));
            assertTrue(m.contains(body.substring(0, Math.min(40, body.length()))), m);
            assertFalse(m.contains("\n"), m);
            assertEquals(4, fake.requestBodies.size(), "all 4 tries used");
        }
    }

    @Test
    void clientErrorIsNotRetried() throws Exception {
        fake = new FakeServer();
        fake.fallback = new Reply(400, resource("vllm-error-400.json"));
        try (OpenAiCompletions c = new OpenAiCompletions(config(fake.url()))) {
            CtlabException e = assertThrows(CtlabException.class, () -> c.complete(REQUEST, PARAMS));
            assertTrue(e.getMessage().contains("HTTP 400"), e.getMessage());
            assertEquals(1, fake.requestBodies.size());
        }
    }

    @Test
    void deadServerIsOneLineErrorAfterRetries() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) { port = s.getLocalPort(); }
        String url = "http://127.0.0.1:" + port;
        try (OpenAiCompletions c = new OpenAiCompletions(config(url).withModel("m"))) {
            CtlabException e = assertThrows(CtlabException.class, () -> c.complete(REQUEST, PARAMS));
            String m = e.getMessage();
            assertTrue(m.startsWith("POST " + url + "/v1/completions: no response after 4 tries ("), m);
            assertTrue(m.contains("ConnectException"), m);
            assertFalse(m.contains("\n"), m);
            assertEquals(5 + 10 + 20, c.backoffMillis());
        }
    }

    @Test
    void badConfigIsRejected() {
        assertThrows(CtlabException.class, () -> OpenAiCompletions.Config.of("ftp://x"));
        assertThrows(CtlabException.class, () -> OpenAiCompletions.Config.of("http://x").withConcurrency(0));
        assertEquals("http://x:1", OpenAiCompletions.Config.of("http://x:1///").baseUrl().toString());
    }
}

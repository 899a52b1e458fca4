package ctlab.sample.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.sample.Sampler;
import ctlab.sample.Sampler.FinishReason;
import ctlab.sample.Sampler.Request;
import ctlab.sample.Sampler.Sample;
import ctlab.sample.SamplingParams;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Generation on an OpenAI-compatible completions server (vLLM; see docs/vllm.md): one {@link Request} becomes
 * one {@code POST /v1/completions} whose {@code n} choices map onto {@link Sample}s exactly as the local
 * {@link Sampler} writes them.
 *
 * <p><b>Request.</b> The prompt goes as token ids ({@code prompt: [ids]}, the forced prefix appended, so it
 * counts as prompt as in the local sampler), with {@code n}, {@code temperature}, {@code top_p}, {@code top_k}
 * (vLLM's "off" is -1), {@code max_tokens}, {@code stop}, {@code logprobs: 0} (the sampled token's own
 * log-prob, no alternatives) and {@code return_token_ids: true} (vLLM ≥ 0.10: the choice carries the
 * response's token ids). {@code return_tokens_as_token_ids} makes each logprobs token read {@code token_id:N},
 * a second source of the ids for servers without {@code return_token_ids}. The seed is sent only when
 * {@link Config#sendSeed} (one per request, derived from (seed, request id)): the vLLM 0.32 CPU build with
 * PyPI torch was seen to crash its engine on a per-request seed ("CPU Generator does not use offset"), so a
 * failure of a seeded request says so. vLLM's seeded samples are not the local sampler's samples either way.
 *
 * <p><b>Response.</b> {@code finish_reason "length"} is {@link FinishReason#LENGTH}; {@code "stop"} with a
 * string {@code stop_reason} is {@link FinishReason#STOP} with that stop string, with {@code stop_reason}
 * null (EOS) or a token id (a stop token) it is {@link FinishReason#EOS}. vLLM's ids include the token that
 * completed a stop string and a final EOS, its text is cut before the stop string with special tokens
 * skipped, and its log-probs are raw (before temperature/top-p), the same conventions as the local sampler.
 *
 * <p><b>Failures.</b> Connection errors, timeouts, 429 and 5xx are retried with exponential backoff; other
 * statuses fail at once. What still fails is a {@link CtlabException} with one line naming the URL, the
 * status and an excerpt of the body.
 */
public final class OpenAiCompletions implements AutoCloseable {

    /**
     * Where and how to call.
     *
     * @param baseUrl      server root, e.g. {@code http://127.0.0.1:8000} ({@code /v1/...} is appended)
     * @param model        served model name; null = the first one {@code /v1/models} lists
     * @param apiKeyEnv    environment variable holding the API key (the key itself is never stored); null or
     *                     an unset variable = no {@code Authorization} header
     * @param concurrency  requests in flight at most
     * @param maxAttempts  tries per request (1 = no retry)
     * @param backoff      wait before the first retry; doubles per retry, capped at 30 s
     * @param timeout      per-request timeout (a whole completions call, all n samples)
     * @param sendSeed     send {@code seed} (derived per request from {@link SamplingParams#seed}); off by default
     */
    public record Config(URI baseUrl, String model, String apiKeyEnv, int concurrency, int maxAttempts,
                         Duration backoff, Duration timeout, boolean sendSeed) {
        public Config {
            if (baseUrl == null || baseUrl.getScheme() == null || baseUrl.getHost() == null
                    || !(baseUrl.getScheme().equals("http") || baseUrl.getScheme().equals("https"))) {
                throw new CtlabException("openai backend: base_url must be an http(s) URL, got '" + baseUrl + "'");
            }
            if (concurrency < 1) throw new CtlabException("openai backend: concurrency must be >= 1, got " + concurrency);
            if (maxAttempts < 1) throw new CtlabException("openai backend: max_attempts must be >= 1, got " + maxAttempts);
            if (backoff == null || backoff.isNegative()) throw new CtlabException("openai backend: backoff must be >= 0");
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new CtlabException("openai backend: timeout must be > 0");
            }
            String s = baseUrl.toString();
            while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
            baseUrl = URI.create(s);
        }

        /** Defaults: model from the server, key from OPENAI_API_KEY, 8 in flight, 5 tries from 1 s, 10 min per call, no seed. */
        public static Config of(String baseUrl) {
            return new Config(URI.create(baseUrl), null, "OPENAI_API_KEY", 8, 5, Duration.ofSeconds(1),
                    Duration.ofMinutes(10), false);
        }

        public Config withModel(String m) { return new Config(baseUrl, m, apiKeyEnv, concurrency, maxAttempts, backoff, timeout, sendSeed); }
        public Config withConcurrency(int c) { return new Config(baseUrl, model, apiKeyEnv, c, maxAttempts, backoff, timeout, sendSeed); }
        public Config withRetries(int attempts, Duration first) { return new Config(baseUrl, model, apiKeyEnv, concurrency, attempts, first, timeout, sendSeed); }
        public Config withTimeout(Duration t) { return new Config(baseUrl, model, apiKeyEnv, concurrency, maxAttempts, backoff, t, sendSeed); }
        public Config withSendSeed(boolean on) { return new Config(baseUrl, model, apiKeyEnv, concurrency, maxAttempts, backoff, timeout, on); }
        public Config withApiKeyEnv(String env) { return new Config(baseUrl, model, env, concurrency, maxAttempts, backoff, timeout, sendSeed); }
    }

    /** What the server reported about itself: the served model name and {@code /version} (null if absent). */
    public record ServerInfo(String model, String version) {}

    private static final int EXCERPT = 200;
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    private static final String TOKEN_ID_PREFIX = "token_id:";

    private final Config config;
    private final String apiKey;
    private final HttpClient http;
    private final ExecutorService pool;
    private volatile String model;
    private volatile long sleptMillis;

    public OpenAiCompletions(Config config) {
        this.config = config;
        String key = config.apiKeyEnv() == null ? null : System.getenv(config.apiKeyEnv());
        this.apiKey = key == null || key.isBlank() ? null : key.trim();
        this.model = config.model();
        this.pool = Executors.newFixedThreadPool(config.concurrency(), r -> {
            Thread t = new Thread(r, "openai-completions");
            t.setDaemon(true);
            return t;
        });
        // HTTP/1.1: vLLM's uvicorn speaks no h2c, and an upgrade attempt only costs a round trip.
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    public Config config() { return config; }

    /** The model name requests carry: the configured one, else the first that {@code /v1/models} lists. */
    public String model() {
        if (model == null) {
            JsonNode data = getJson("/v1/models").path("data");
            if (!data.isArray() || data.isEmpty() || !data.get(0).path("id").isTextual()) {
                throw new CtlabException("GET " + url("/v1/models") + ": no model listed in the response");
            }
            model = data.get(0).path("id").asText();
        }
        return model;
    }

    /** The served model name and the server's {@code /version} (vLLM; null where the server has none). */
    public ServerInfo serverInfo() {
        String version = null;
        HttpResponse<String> r = send("GET", "/version", null);
        if (r.statusCode() == 200) {
            JsonNode v = parse(r.body(), url("/version"));
            version = v.path("version").isTextual() ? v.path("version").asText() : null;
        }
        return new ServerInfo(model(), version);
    }

    /** The {@code n} samples of one request, in sample-index order. */
    public List<Sample> complete(Request request, SamplingParams params) { return complete(model(), request, params); }

    /** The same, asking for {@code servedModel} (a LoRA adapter's name, {@link #loadLoraAdapter}). */
    public List<Sample> complete(String servedModel, Request request, SamplingParams params) {
        String body = Jsonl.toLine(requestBody(servedModel, request, params, config.sendSeed()));
        HttpResponse<String> r = send("POST", "/v1/completions", body);
        if (r.statusCode() != 200) {
            String hint = config.sendSeed() ? " (the request carried a seed: the vLLM CPU build has crashed on"
                    + " per-request seeds; try without send_seed)" : "";
            throw new CtlabException("POST " + url("/v1/completions") + " for request '" + request.id()
                    + "': HTTP " + r.statusCode() + ": " + excerpt(r.body()) + hint);
        }
        return parseSamples(request.id(), params.n(), parse(r.body(), url("/v1/completions")),
                url("/v1/completions"));
    }

    /**
     * All requests, at most {@link Config#concurrency} in flight; results in request order. {@code onDone}
     * (may be null) sees each request's samples as soon as they arrive, one call at a time, in completion
     * order, so a caller can append them before the next ones land. The first failure cancels the rest.
     */
    public List<List<Sample>> completeAll(List<Request> requests, SamplingParams params, Consumer<List<Sample>> onDone) {
        return completeAll(model(), requests, params, onDone);
    }

    /** The same, asking for {@code servedModel}. */
    public List<List<Sample>> completeAll(String servedModel, List<Request> requests, SamplingParams params,
                                          Consumer<List<Sample>> onDone) {
        List<Future<List<Sample>>> futures = new ArrayList<>();
        Object lock = new Object();
        for (Request req : requests) {
            futures.add(pool.submit(() -> {
                List<Sample> s = complete(servedModel, req, params);
                if (onDone != null) synchronized (lock) { onDone.accept(s); }
                return s;
            }));
        }
        List<List<Sample>> out = new ArrayList<>(requests.size());
        try {
            for (Future<List<Sample>> f : futures) out.add(f.get());
        } catch (ExecutionException e) {
            futures.forEach(f -> f.cancel(true));
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new CtlabException("openai backend: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            futures.forEach(f -> f.cancel(true));
            Thread.currentThread().interrupt();
            throw new CtlabException("openai backend: interrupted");
        }
        return out;
    }

    /**
     * Makes a PEFT adapter folder servable as {@code name} through vLLM's {@code POST /v1/load_lora_adapter} (the
     * server needs {@code --enable-lora}, a {@code --max-lora-rank} ≥ the adapter's and
     * {@code VLLM_ALLOW_RUNTIME_LORA_UPDATING=True}, and must see {@code dir} on its file system). An adapter already
     * loaded under that name is fine.
     */
    public void loadLoraAdapter(String name, java.nio.file.Path dir) {
        ObjectNode b = Jsonl.MAPPER.createObjectNode();
        b.put("lora_name", name);
        b.put("lora_path", dir.toAbsolutePath().normalize().toString());
        HttpResponse<String> r = send("POST", "/v1/load_lora_adapter", Jsonl.toLine(b));
        if (r.statusCode() == 200 || r.body() != null && r.body().contains("has already been loaded")) return;
        String hint = r.statusCode() == 404 || r.statusCode() == 405
                ? " (start the server with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True; docs/vllm.md)" : "";
        throw new CtlabException("POST " + url("/v1/load_lora_adapter") + " for adapter " + dir + ": HTTP "
                + r.statusCode() + ": " + excerpt(r.body()) + hint);
    }

    /** Milliseconds spent waiting between retries so far (for tests and progress lines). */
    public long backoffMillis() { return sleptMillis; }

    @Override public void close() { pool.shutdownNow(); }

    // ---- request / response, package-private for the tests ----

    static ObjectNode requestBody(String model, Request request, SamplingParams p, boolean sendSeed) {
        ObjectNode b = Jsonl.MAPPER.createObjectNode();
        b.put("model", model);
        ArrayNode prompt = b.putArray("prompt");
        for (int id : request.promptIds()) prompt.add(id);
        for (int id : request.forcedPrefix()) prompt.add(id);
        b.put("n", p.n());
        b.put("temperature", p.temperature());
        b.put("top_p", p.topP());
        b.put("top_k", p.topK() == 0 ? -1 : p.topK());
        b.put("max_tokens", p.maxNewTokens());
        ArrayNode stop = b.putArray("stop");
        p.stop().forEach(stop::add);
        b.put("logprobs", 0);
        b.put("return_token_ids", true);
        b.put("return_tokens_as_token_ids", true);
        b.put("skip_special_tokens", true);
        b.put("include_stop_str_in_output", false);
        if (sendSeed) b.put("seed", Sampler.sampleSeed(p.seed(), request.id(), 0));
        return b;
    }

    static List<Sample> parseSamples(String requestId, int n, JsonNode response, String url) {
        JsonNode choices = response.path("choices");
        String where = url + " for request '" + requestId + "'";
        if (!choices.isArray()) throw new CtlabException(where + ": response has no 'choices' array: " + excerpt(response.toString()));
        if (choices.size() != n) throw new CtlabException(where + ": asked for n=" + n + " samples, got " + choices.size() + " choices");
        Sample[] out = new Sample[n];
        for (JsonNode c : choices) {
            int index = c.path("index").asInt(-1);
            if (index < 0 || index >= n || out[index] != null) {
                throw new CtlabException(where + ": bad or repeated choice index " + c.path("index"));
            }
            String w = where + ", choice " + index;
            JsonNode lp = c.path("logprobs");
            JsonNode tokenLps = lp.path("token_logprobs");
            if (!tokenLps.isArray()) throw new CtlabException(w + ": no logprobs.token_logprobs (the server ignored logprobs)");
            int[] ids = tokenIds(c, w);
            if (tokenLps.size() != ids.length) {
                throw new CtlabException(w + ": " + ids.length + " token ids but " + tokenLps.size() + " log-probs");
            }
            float[] lps = new float[ids.length];
            for (int i = 0; i < lps.length; i++) {
                if (!tokenLps.get(i).isNumber()) throw new CtlabException(w + ": log-prob " + i + " is " + tokenLps.get(i));
                lps[i] = (float) tokenLps.get(i).asDouble();
            }
            String finish = c.path("finish_reason").asText(null);
            JsonNode stopReason = c.path("stop_reason");
            FinishReason reason;
            String stopString = null;
            if ("length".equals(finish)) {
                reason = FinishReason.LENGTH;
            } else if ("stop".equals(finish)) {
                if (stopReason.isTextual()) { reason = FinishReason.STOP; stopString = stopReason.asText(); }
                else reason = FinishReason.EOS;   // null: EOS; a number: a stop token id
            } else {
                throw new CtlabException(w + ": unexpected finish_reason " + c.path("finish_reason"));
            }
            if (!c.path("text").isTextual()) throw new CtlabException(w + ": no text");
            out[index] = new Sample(requestId, index, ids, c.path("text").asText(), lps, reason, stopString);
        }
        return List.of(out);
    }

    /** {@code token_ids} (vLLM return_token_ids), else the logprobs tokens written as {@code token_id:N}. */
    private static int[] tokenIds(JsonNode choice, String where) {
        JsonNode ids = choice.path("token_ids");
        if (ids.isArray()) {
            int[] out = new int[ids.size()];
            for (int i = 0; i < out.length; i++) {
                if (!ids.get(i).canConvertToInt()) throw new CtlabException(where + ": token id " + i + " is " + ids.get(i));
                out[i] = ids.get(i).asInt();
            }
            return out;
        }
        JsonNode tokens = choice.path("logprobs").path("tokens");
        int[] out = new int[tokens.size()];
        for (int i = 0; i < out.length; i++) {
            String t = tokens.get(i).asText("");
            if (!t.startsWith(TOKEN_ID_PREFIX)) {
                throw new CtlabException(where + ": no token_ids and logprobs token " + i + " is '" + t
                        + "', not token_id:N (the server needs return_token_ids or return_tokens_as_token_ids)");
            }
            try {
                out[i] = Integer.parseInt(t.substring(TOKEN_ID_PREFIX.length()));
            } catch (NumberFormatException e) {
                throw new CtlabException(where + ": logprobs token " + i + " is '" + t + "'");
            }
        }
        return out;
    }

    // ---- HTTP with retries ----

    private String url(String path) { return config.baseUrl() + path; }

    private JsonNode getJson(String path) {
        HttpResponse<String> r = send("GET", path, null);
        if (r.statusCode() != 200) {
            throw new CtlabException("GET " + url(path) + ": HTTP " + r.statusCode() + ": " + excerpt(r.body()));
        }
        return parse(r.body(), url(path));
    }

    private static JsonNode parse(String body, String url) {
        try {
            return Jsonl.MAPPER.readTree(body);
        } catch (IOException e) {
            throw new CtlabException(url + ": response is not JSON: " + excerpt(body));
        }
    }

    /**
     * Sends with retries: connection errors, timeouts, 429 and 5xx are retried after 1, 2, 4, ... backoffs;
     * the last response is returned whatever its status (the caller turns a non-200 into its one-line error);
     * a connection error on the last try is thrown as one.
     */
    private HttpResponse<String> send(String method, String path, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(config.timeout());
        if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
        if (body != null) {
            b.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpRequest req = b.build();
        long wait = config.backoff().toMillis();
        for (int attempt = 1; ; attempt++) {
            String failure;
            try {
                HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                int s = r.statusCode();
                if (!(s == 429 || s >= 500) || attempt >= config.maxAttempts()) return r;
                failure = null;
            } catch (IOException e) {
                failure = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + oneLine(e.getMessage()));
                if (attempt >= config.maxAttempts()) {
                    throw new CtlabException(method + " " + url(path) + ": no response after " + attempt
                            + (attempt == 1 ? " try" : " tries") + " (" + failure + "); is the server running?");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CtlabException(method + " " + url(path) + ": interrupted");
            }
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CtlabException(method + " " + url(path) + ": interrupted");
            }
            synchronized (this) { sleptMillis += wait; }
            wait = Math.min(MAX_BACKOFF.toMillis(), Math.max(1, wait * 2));
        }
    }

    static String excerpt(String body) {
        if (body == null || body.isEmpty()) return "(empty body)";
        String s = oneLine(body);
        return s.length() <= EXCERPT ? s : s.substring(0, EXCERPT) + "...";
    }

    private static String oneLine(String s) { return s.replaceAll("\\s+", " ").trim(); }

    @Override public String toString() {
        return "OpenAiCompletions[" + config.baseUrl() + ", model " + model + "]";   // never the key
    }
}

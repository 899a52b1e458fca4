package ctlab.sample;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import ctlab.CtlabException;
import ctlab.io.Progress;
import ctlab.model.KvCache;
import ctlab.model.LlamaModel;
import ctlab.model.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Batched KV-cache sampling: {@code n} samples per request, each row with its own seeded RNG.
 *
 * <p><b>Seeds.</b> Sample {@code j} of request {@code id} draws from a {@link SplittableRandom} seeded with
 * {@link #sampleSeed}(seed, id, j). Rows never share an RNG, so a sample's tokens do not depend on which other
 * rows were in its batch, on the batch size, or on whether the run was resumed: re-sampling the same
 * (seed, id, j) alone or inside any batch gives the same text. (Batched logits differ from single-row logits
 * by float rounding, ~1e-7; a token could flip only if a uniform draw lands that close to a CDF boundary.)
 *
 * <p><b>Filtering and drawing.</b> Temperature, top-k and top-p run on NDArrays on the model's device
 * (temperature scaling, a descending sort, slicing to the top-k, softmax, cumulative mass); only the kept
 * head of each row's sorted distribution is copied to the CPU, where one uniform per row picks the token by
 * inverse CDF. A Java RNG was chosen over the engine's RNG because it is independent of device, engine
 * version and batch layout, and one double per row per step is cheap. Top-k is applied first and top-p on
 * the renormalised top-k distribution, as vLLM does; top-p keeps the smallest prefix of the sorted tokens
 * whose mass reaches p (the token that crosses p is kept). Temperature 0 is argmax on the device.
 *
 * <p><b>Finished rows.</b> A finished row is masked (it is fed a dummy token and its output ignored) while at
 * least half of the batch is still running; when half or more have finished, the survivors are re-prefilled
 * into a fresh, smaller KV cache (their prompt plus what they generated), so the cost per step follows the
 * number of live rows. At most log2(batch) such compactions happen per batch.
 *
 * <p><b>Text and stops</b> (as the official vLLM setup returns them): {@link Sample#text} is the decoded
 * generated part only, special tokens skipped (vLLM {@code skip_special_tokens=True}). Stop strings are
 * searched, after each new token, in the newly decoded text, in the order given; the first one found ends
 * the sample and the text is cut just before it ({@code include_stop_str_in_output=False}). With the official
 * list this means "...72.\n\nQuestion:" ends as "...72." because "\n\nQuestion:" comes first in the list.
 * {@link Sample#tokenIds} keeps every generated token, including the one that completed the stop string and
 * a final EOS (as vLLM's {@code token_ids}). A forced prefix counts as prompt: stops are not searched in it
 * and it does not count towards {@code max_new_tokens}. {@link Sample#logProbs} are the model's raw
 * log-probabilities of each generated token (before temperature and filtering), like vLLM's default
 * {@code logprobs_mode=raw_logprobs}.
 */
public final class Sampler {

    /** Why a sample ended: EOS token, a stop string, or {@code max_new_tokens}. */
    public enum FinishReason {
        EOS, STOP, LENGTH;

        @com.fasterxml.jackson.annotation.JsonValue
        public String json() { return name().toLowerCase(java.util.Locale.ROOT); }

        @com.fasterxml.jackson.annotation.JsonCreator
        public static FinishReason fromJson(String s) {
            for (FinishReason r : values()) if (r.json().equals(s)) return r;
            throw new CtlabException("finish_reason must be one of eos, stop, length; got '" + s + "'");
        }
    }

    /**
     * What to continue.
     *
     * @param id           stable id (e.g. problem id); seeds derive from it
     * @param promptIds    prompt token ids, BOS included when the model has one ({@link #promptIds})
     * @param forcedPrefix response tokens to continue from (may be empty): the probe's primitive
     */
    public record Request(String id, int[] promptIds, int[] forcedPrefix) {
        public Request {
            if (id == null || id.isEmpty()) throw new CtlabException("sampling request: empty id");
            if (promptIds == null) throw new CtlabException("sampling request '" + id + "': no prompt ids");
            forcedPrefix = forcedPrefix == null ? new int[0] : forcedPrefix;
            if (promptIds.length + forcedPrefix.length == 0) {
                throw new CtlabException("sampling request '" + id + "': empty prompt");
            }
        }

        public static Request of(String id, int[] promptIds) { return new Request(id, promptIds, new int[0]); }
    }

    /**
     * One sample. {@code tokenIds} and {@code logProbs} have equal length; the forced prefix is not in them.
     */
    @JsonPropertyOrder({"request_id", "sample_index", "text", "finish_reason", "stop_string", "token_ids", "logprobs"})
    public record Sample(@JsonProperty("request_id") String requestId,
                         @JsonProperty("sample_index") int sampleIndex,
                         @JsonProperty("token_ids") int[] tokenIds,
                         @JsonProperty("text") String text,
                         @JsonProperty("logprobs") float[] logProbs,
                         @JsonProperty("finish_reason") FinishReason finishReason,
                         @JsonProperty("stop_string") String stopString) {
        @JsonIgnore public int numTokens() { return tokenIds.length; }
    }

    /** How many decoded prefix tokens give the generated text its left context (spaces, multi-byte chars). */
    private static final int TEXT_CONTEXT = 6;

    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final Set<Integer> eosIds = new LinkedHashSet<>();
    private int maxBatchRows = 32;
    private boolean compaction = true;
    private long tokensGenerated;

    /** A sampler over the model's own tokenizer (the model folder's tokenizer.json). */
    public Sampler(LlamaModel model) { this(model, model.tokenizer()); }

    public Sampler(LlamaModel model, Tokenizer tokenizer) {
        if (tokenizer == null) throw new CtlabException("sampling needs a tokenizer: the model folder has no tokenizer.json");
        this.model = model;
        this.tokenizer = tokenizer;
        eosIds.addAll(model.config().eosTokenIds());
        if (tokenizer.eosId() >= 0) eosIds.add(tokenizer.eosId());
    }

    /** Token-level sampler without a tokenizer (no text, no stop strings): ends rows at {@code eosId} only. */
    private Sampler(LlamaModel model, int eosId) {
        this.model = model;
        this.tokenizer = null;
        if (eosId >= 0) eosIds.add(eosId);
    }

    /**
     * Greedy decoding of token ids, no tokenizer involved (the engine's golden tests and the decode benchmark):
     * argmax each step; a row ends after {@code eosId}, which is included in its output; pass -1 to always
     * generate {@code maxNewTokens}. Rows are decoded in one batch.
     *
     * @return the generated ids per prompt (without the prompt)
     */
    public static List<int[]> greedy(LlamaModel model, List<int[]> prompts, int maxNewTokens, int eosId) {
        List<Request> requests = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) requests.add(Request.of(Integer.toString(i), prompts.get(i)));
        Sampler s = new Sampler(model, eosId).maxBatchRows(Math.max(1, prompts.size()));
        List<int[]> out = new ArrayList<>(prompts.size());
        for (Sample x : s.sample(requests, SamplingParams.greedy(maxNewTokens))) out.add(x.tokenIds());
        return out;
    }

    /** Rows (samples) decoded together; more rows = more throughput and memory. Default 32. */
    public Sampler maxBatchRows(int rows) {
        if (rows < 1) throw new IllegalArgumentException("maxBatchRows must be >= 1");
        this.maxBatchRows = rows;
        return this;
    }

    /** Turns dropping finished rows by re-prefilling on or off (off = mask only). Default on. */
    public Sampler compaction(boolean on) {
        this.compaction = on;
        return this;
    }

    public Tokenizer tokenizer() { return tokenizer; }

    public LlamaModel model() { return model; }

    /** EOS ids that end a sample (config's {@code eos_token_id} list plus the tokenizer's). */
    public Set<Integer> eosIds() { return java.util.Collections.unmodifiableSet(eosIds); }

    /** Generated tokens so far, forced prefixes and prompts not counted (the cost of sampling). */
    public long tokensGenerated() { return tokensGenerated; }

    // ------------------------------------------------------------------ tokenization (prompt and response apart)

    /** Prompt ids: {@link Tokenizer#encodePrompt}. */
    public static int[] promptIds(Tokenizer tok, String prompt) { return tok.encodePrompt(prompt); }

    /** Response ids: {@link Tokenizer#encodeResponse}. */
    public static int[] responseIds(Tokenizer tok, String response) { return tok.encodeResponse(response); }

    /** Concatenation of id arrays (prompt ids then response ids). */
    public static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    // ------------------------------------------------------------------ seeds

    /**
     * The seed of sample {@code sampleIndex} of request {@code requestId}: SplitMix64-style mixing of the
     * root seed, a 64-bit FNV-1a hash of the id's UTF-8 bytes, and the index. Stable across runs and JVMs.
     */
    public static long sampleSeed(long seed, String requestId, int sampleIndex) {
        long h = 0xcbf29ce484222325L;
        for (byte b : requestId.getBytes(StandardCharsets.UTF_8)) {
            h ^= (b & 0xff);
            h *= 0x100000001b3L;
        }
        return mix(mix(mix(seed) ^ h) ^ sampleIndex);
    }

    private static long mix(long z) {
        z += 0x9e3779b97f4a7c15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    // ------------------------------------------------------------------ sampling

    /** {@code params.n()} samples of one request, in sample-index order. */
    public List<Sample> sample(Request request, SamplingParams params) { return sample(List.of(request), params); }

    /** {@code params.n()} samples of each request, ordered by request, then sample index. */
    public List<Sample> sample(List<Request> requests, SamplingParams params) {
        if (tokenizer == null && !params.stop().isEmpty()) throw new IllegalStateException("stop strings need a tokenizer");
        List<Row> rows = new ArrayList<>();
        for (Request r : requests) {
            checkIds(r);
            for (int j = 0; j < params.n(); j++) rows.add(new Row(r, j, params.seed()));
        }
        return sampleRows(rows, params);
    }

    /**
     * Samples listed one by one: sample {@code sampleIndices[i]} of {@code requests[i]}, each seeded as in
     * {@link #sample(List, SamplingParams)} ({@code params.n()} is ignored). Lets a resumed run regenerate
     * exactly the samples it lacks.
     */
    public List<Sample> sampleSelected(List<Request> requests, int[] sampleIndices, SamplingParams params) {
        if (requests.size() != sampleIndices.length) throw new IllegalArgumentException("one sample index per request");
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < sampleIndices.length; i++) {
            checkIds(requests.get(i));
            rows.add(new Row(requests.get(i), sampleIndices[i], params.seed()));
        }
        return sampleRows(rows, params);
    }

    private List<Sample> sampleRows(List<Row> rows, SamplingParams params) {
        for (Row r : rows) r.prepare(this);
        boolean training = model.isTraining();
        model.setTraining(false);  // LoRA dropout off while generating
        try {
            runBatches(rows, params);
        } finally {
            model.setTraining(training);
        }
        List<Sample> out = new ArrayList<>(rows.size());
        for (Row r : rows) out.add(r.toSample(this));
        return out;
    }

    private void runBatches(List<Row> rows, SamplingParams params) {
        try (Progress progress = rows.size() > maxBatchRows ? Progress.start("sample", rows.size()) : null) {
            for (int from = 0; from < rows.size(); from += maxBatchRows) {
                List<Row> chunk = rows.subList(from, Math.min(rows.size(), from + maxBatchRows));
                generate(chunk, params);
                if (progress != null) progress.set(from + chunk.size(), tokensGenerated + " tokens");
            }
        }
    }

    private void checkIds(Request r) {
        int v = model.config().vocabSize();
        for (int[] a : new int[][] {r.promptIds(), r.forcedPrefix()}) {
            for (int id : a) {
                if (id < 0 || id >= v) {
                    throw new CtlabException("sampling request '" + r.id() + "': token id " + id
                            + " is outside the model's vocabulary [0, " + v + ")");
                }
            }
        }
    }

    /** Decodes one batch of rows to the end. */
    private void generate(List<Row> rows, SamplingParams p) {
        List<Row> batch = new ArrayList<>();
        for (Row r : rows) if (!r.done) batch.add(r);
        if (batch.isEmpty()) return;
        try (NDManager m = model.weightsManager().newSubManager()) {
            KvCache[] cache = {model.newCache()};
            try {
                NDArray logits = prefill(cache[0], batch, m);                    // (B, V)
                while (true) {
                    long[] next;
                    try (NDManager stepManager = m.newSubManager()) {
                        logits.attach(stepManager);
                        next = choose(logits, batch, p);
                    }
                    int live = 0;
                    for (int i = 0; i < batch.size(); i++) {
                        Row r = batch.get(i);
                        if (r.done) continue;
                        r.accept((int) next[i], p, this);
                        if (!r.done) live++;
                    }
                    if (live == 0) break;
                    if (compaction && live * 2 <= batch.size()) {
                        // drop finished rows: re-prefill the live ones (prompt + generated so far)
                        List<Row> survivors = new ArrayList<>();
                        for (Row r : batch) if (!r.done) survivors.add(r);
                        batch = survivors;
                        cache[0].close();
                        cache[0] = model.newCache();
                        logits = prefill(cache[0], batch, m);
                        continue;
                    }
                    for (int i = 0; i < batch.size(); i++) if (batch.get(i).done) next[i] = 0;  // masked rows
                    try (NDManager stepManager = m.newSubManager()) {
                        logits = model.step(cache[0], stepManager.create(next, new Shape(batch.size())));  // (B, V)
                        logits.attach(m);
                    }
                }
            } finally {
                cache[0].close();
            }
        }
    }

    /** Left-pads each row's full sequence (prompt, forced prefix, generated) and prefills; (B, V) logits. */
    private NDArray prefill(KvCache cache, List<Row> batch, NDManager m) {
        int b = batch.size();
        int t = 0;
        for (Row r : batch) t = Math.max(t, r.context.length + r.generated.size());
        long[] ids = new long[b * t];
        float[] mask = new float[b * t];
        for (int i = 0; i < b; i++) {
            Row r = batch.get(i);
            int len = r.context.length + r.generated.size();
            int off = i * t + (t - len);
            for (int j = 0; j < r.context.length; j++) ids[off + j] = r.context[j];
            for (int j = 0; j < r.generated.size(); j++) ids[off + r.context.length + j] = r.generated.get(j);
            Arrays.fill(mask, off, off + len, 1f);
        }
        try (NDManager inputs = m.newSubManager()) {
            NDArray logits = model.prefill(cache, inputs.create(ids, new Shape(b, t)), inputs.create(mask, new Shape(b, t)));
            logits.attach(m);
            return logits;                                                       // (B, V)
        }
    }

    /**
     * Picks each live row's next token and stores its raw log-prob in the row. Runs inside a step manager
     * that owns {@code logits}.
     */
    private long[] choose(NDArray logits, List<Row> batch, SamplingParams p) {
        int b = batch.size();
        long vocab = logits.getShape().get(1);
        long[] next = new long[b];
        if (p.isGreedy()) {
            next = logits.argMax(-1).toType(DataType.INT64, false).toLongArray();  // (B)
        } else {
            NDArray scaled = logits.div(p.temperature());                         // (B, V)
            NDArray probs;
            NDArray order = null;                                                 // (B, K) vocab ids, null = identity
            boolean topK = p.topK() > 0 && p.topK() < vocab;
            if (topK || p.topP() < 1) {
                order = scaled.argSort(1, false);                                 // (B, V) descending
                NDArray sorted = scaled.gather(order, 1);                         // (B, V)
                if (topK) {
                    order = order.get(":, :{}", p.topK());                        // (B, K)
                    sorted = sorted.get(":, :{}", p.topK());                      // (B, K)
                }
                probs = sorted.softmax(1);                                        // (B, K) renormalised over top-k
                if (p.topP() < 1) {
                    NDArray before = probs.cumSum(1).sub(probs);                  // (B, K) mass strictly before
                    NDArray keep = before.lt(p.topP()).toType(DataType.FLOAT32, false);  // (B, K)
                    long kept = keep.sum(new int[] {1}).max().toType(DataType.INT64, false).getLong();
                    probs = probs.mul(keep).get(":, :{}", kept);                   // (B, K') zero past each row's nucleus
                    order = order.get(":, :{}", kept);                            // (B, K')
                }
            } else {
                probs = scaled.softmax(1);                                        // (B, V)
            }
            int width = Math.toIntExact(probs.getShape().get(1));
            float[] pr = probs.toFloatArray();
            long[] ids = order == null ? null : order.toType(DataType.INT64, false).toLongArray();
            for (int i = 0; i < b; i++) {
                Row r = batch.get(i);
                if (r.done) continue;
                int j = draw(pr, i * width, width, r.rng);
                next[i] = ids == null ? j : ids[i * width + j];
            }
        }
        NDArray chosen = logits.getManager().create(next, new Shape(b, 1));      // (B, 1)
        float[] lp = logits.logSoftmax(1).gather(chosen, 1).toFloatArray();      // (B)
        for (int i = 0; i < b; i++) batch.get(i).pendingLogProb = lp[i];
        return next;
    }

    /** Inverse-CDF draw from the (unnormalised, non-negative) weights {@code w[off .. off+n)}. */
    static int draw(float[] w, int off, int n, SplittableRandom rng) {
        double total = 0;
        for (int j = 0; j < n; j++) total += w[off + j];
        if (!(total > 0) || Double.isInfinite(total)) {
            throw new IllegalStateException("sampling: the model produced non-finite or all-zero probabilities (sum "
                    + total + "); NaN/Inf logits?");
        }
        double u = rng.nextDouble() * total;
        double acc = 0;
        int last = 0;
        for (int j = 0; j < n; j++) {
            if (w[off + j] <= 0) continue;
            acc += w[off + j];
            last = j;
            if (u < acc) return j;
        }
        return last;  // rounding: u landed at the very top
    }

    // ------------------------------------------------------------------ per-row state

    private static final class Row {
        final Request request;
        final int sampleIndex;
        final SplittableRandom rng;
        final int[] context;           // prompt + forced prefix
        int[] textContext;             // last few forced-prefix tokens, for decoding the new text in context
        String textContextDecoded;
        final IntList generated = new IntList();
        final FloatList logProbs = new FloatList();
        float pendingLogProb;
        boolean done;
        FinishReason reason;
        String stopString;
        String text;
        int checkedTextLength;

        Row(Request request, int sampleIndex, long seed) {
            this.request = request;
            this.sampleIndex = sampleIndex;
            this.rng = new SplittableRandom(sampleSeed(seed, request.id(), sampleIndex));
            this.context = concat(request.promptIds(), request.forcedPrefix());
        }

        void prepare(Sampler s) {
            int[] pre = request.forcedPrefix();
            textContext = Arrays.copyOfRange(pre, Math.max(0, pre.length - TEXT_CONTEXT), pre.length);
            textContextDecoded = textContext.length == 0 || s.tokenizer == null ? "" : s.tokenizer.decode(toLongs(textContext, null), true);
            if (pre.length > 0 && s.eosIds.contains(pre[pre.length - 1])) {
                done = true;  // the forced response already ended
                reason = FinishReason.EOS;
            }
        }

        void accept(int token, SamplingParams p, Sampler s) {
            generated.add(token);
            logProbs.add(pendingLogProb);
            s.tokensGenerated++;
            if (s.eosIds.contains(token)) {
                finish(FinishReason.EOS);
                return;
            }
            if (!p.stop().isEmpty() && mayHaveNewStop(p.stop(), s)) {
                String t = decode(s);
                int from = Math.min(checkedTextLength, t.length());
                for (String stop : p.stop()) {
                    // an occurrence that ends in the new text (a little earlier too: the last character of the
                    // previous text may have been an incomplete multi-byte sequence that now decodes differently)
                    int at = t.indexOf(stop, Math.max(0, from - stop.length() - 3));
                    if (at >= 0) {
                        text = t.substring(0, at);
                        stopString = stop;
                        finish(FinishReason.STOP);
                        return;
                    }
                }
                checkedTextLength = t.length();
            }
            if (generated.size() >= p.maxNewTokens()) finish(FinishReason.LENGTH);
        }

        /**
         * Cheap pre-check so a long sample is not fully decoded at every step: a stop string that completes
         * with the newest token spans at most 4·len + 1 tokens (a character is at most 4 UTF-8 bytes and a
         * token at least 1), so it lies inside the decoded last 4·len + 4 tokens; the 3 extra tokens absorb
         * what decoding a window differently at its left edge can change (a stripped leading space, a split
         * multi-byte character). Only when the window holds a stop string is the whole text decoded.
         */
        private boolean mayHaveNewStop(List<String> stops, Sampler s) {
            int longest = 0;
            for (String stop : stops) longest = Math.max(longest, stop.length());
            int window = 4 * longest + 4;
            if (generated.size() <= window) return true;
            long[] tail = new long[window];
            for (int i = 0; i < window; i++) tail[i] = generated.get(generated.size() - window + i);
            String w = s.tokenizer.decode(tail, true);
            for (String stop : stops) if (w.contains(stop)) return true;
            return false;
        }

        private void finish(FinishReason r) {
            done = true;
            reason = r;
        }

        /** The generated part's text, decoded after the last few prefix tokens so spacing is right. */
        String decode(Sampler s) {
            String full = s.tokenizer.decode(toLongs(textContext, generated), true);
            if (full.startsWith(textContextDecoded)) return full.substring(textContextDecoded.length());
            return s.tokenizer.decode(toLongs(new int[0], generated), true);
        }

        Sample toSample(Sampler s) {
            if (text == null && s.tokenizer != null) text = decode(s);
            return new Sample(request.id(), sampleIndex, generated.toArray(), text, logProbs.toArray(), reason, stopString);
        }

        private static long[] toLongs(int[] head, IntList tail) {
            int n = head.length + (tail == null ? 0 : tail.size());
            long[] out = new long[n];
            for (int i = 0; i < head.length; i++) out[i] = head[i];
            for (int i = head.length; i < n; i++) out[i] = tail.get(i - head.length);
            return out;
        }
    }

    private static final class IntList {
        private int[] a = new int[16];
        private int n;

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int get(int i) { return a[i]; }

        int size() { return n; }

        int[] toArray() { return Arrays.copyOf(a, n); }
    }

    private static final class FloatList {
        private float[] a = new float[16];
        private int n;

        void add(float v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        float[] toArray() { return Arrays.copyOf(a, n); }
    }
}

package ctlab.sample;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
import java.util.ArrayDeque;
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
 * <p><b>Filtering and drawing.</b> Each step copies the batch's (B, V) logits to the host once; temperature,
 * top-k and top-p then run per row in double: softmax(logits / T) unnormalised, and for top-k/top-p a max-heap
 * that pops tokens in descending probability only until the top-k or the nucleus is complete (no sort of the
 * vocabulary); one uniform per row picks the token by inverse CDF over the kept tokens in that order. A Java RNG
 * was chosen over the engine's RNG because it is independent of device, engine version and batch layout, and
 * one double per row per step is cheap. Top-k is applied first and top-p on the renormalised top-k
 * distribution, as vLLM does; top-p keeps the smallest prefix of the sorted tokens whose mass reaches p (the
 * token that crosses p is kept; equal probabilities in token-id order). Temperature 0 is argmax (first maximum).
 *
 * <p><b>Batching.</b> At most {@link #maxBatchRows} rows decode together. Consecutive rows with the same context
 * (the n samples of a request; eval's greedy and pass@k rows of a problem) share one prefill, expanded in the
 * cache ({@link KvCache#selectRows}). Finished rows are masked (fed a dummy token, output ignored) until a
 * quarter of the batch (or half of a small one) has finished; then they are dropped from the cache in place
 * ({@link KvCache#selectRows}, nothing recomputed), and once a quarter of the slots are free the next waiting
 * rows are prefilled and appended ({@link KvCache#appendRows}, continuous batching), so the batch stays full.
 * With {@link #compaction} off, finished rows stay masked and the next rows start when the batch is done.
 *
 * <p><b>Text and stops</b> (as the official vLLM setup returns them): {@link Sample#text} is the decoded
 * generated part only, special tokens skipped (vLLM {@code skip_special_tokens=True}). Stop strings are
 * searched, after each new token, in the newly decoded text (decoded incrementally, a few tokens of context
 * at a time, as vLLM's detokenizer; a candidate is confirmed on the whole text), in the order given; the first one found ends
 * the sample and the text is cut just before it ({@code include_stop_str_in_output=False}). With the official
 * list this means "...72.\n\nQuestion:" ends as "...72." because "\n\nQuestion:" comes first in the list.
 * {@link Sample#tokenIds} keeps every generated token, including the one that completed the stop string and
 * a final EOS (as vLLM's {@code token_ids}). A forced prefix counts as prompt: stops are not searched in it
 * and it does not count towards {@code max_new_tokens}. {@link Sample#logProbs} are the model's raw
 * log-probabilities of each generated token (before temperature and filtering), like vLLM's default
 * {@code logprobs_mode=raw_logprobs}.
 */
public final class Sampler implements Generator {

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
     * @param promptIds    prompt token ids, BOS included when the tokenizer adds one ({@link #promptIds})
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

    /** Turns dropping finished rows and admitting waiting ones into their slots on or off (off = mask only). Default on. */
    public Sampler compaction(boolean on) {
        this.compaction = on;
        return this;
    }

    @Override public Tokenizer tokenizer() { return tokenizer; }

    public LlamaModel model() { return model; }

    /** EOS ids that end a sample (config's {@code eos_token_id} list plus the tokenizer's). */
    public Set<Integer> eosIds() { return java.util.Collections.unmodifiableSet(eosIds); }

    /** Generated tokens so far, forced prefixes and prompts not counted (the cost of sampling). */
    @Override public long tokensGenerated() { return tokensGenerated; }

    @Override public java.util.Map<String, Object> describe() { return java.util.Map.of("backend", "local"); }

    // ------------------------------------------------------------------ tokenization (prompt and response apart)


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
    @Override public List<Sample> sample(List<Request> requests, SamplingParams params) {
        return sample(requests, List.of(params)).get(0);
    }

    /**
     * Several sampling setups over the same requests in one pass (eval: one greedy answer and pass@k samples per
     * problem): the samples of one request, all setups together, share one prefill of its prompt. Result
     * {@code i} holds {@code paramSets[i].n()} samples per request, ordered by request, then sample index, each
     * exactly as {@link #sample(List, SamplingParams)} with that setup alone would give it (seeds per sample).
     */
    @Override public List<List<Sample>> sample(List<Request> requests, List<SamplingParams> paramSets) {
        List<Row> rows = new ArrayList<>();
        List<List<Row>> bySet = new ArrayList<>();
        for (SamplingParams p : paramSets) {
            if (tokenizer == null && !p.stop().isEmpty()) throw new IllegalStateException("stop strings need a tokenizer");
            bySet.add(new ArrayList<>());
        }
        for (Request r : requests) {
            checkIds(r);
            for (int k = 0; k < paramSets.size(); k++) {   // a request's rows stay together: they share a prefill
                SamplingParams p = paramSets.get(k);
                for (int j = 0; j < p.n(); j++) {
                    Row row = new Row(r, j, p);
                    rows.add(row);
                    bySet.get(k).add(row);
                }
            }
        }
        run(rows);
        List<List<Sample>> out = new ArrayList<>();
        for (List<Row> set : bySet) {
            List<Sample> samples = new ArrayList<>(set.size());
            for (Row r : set) samples.add(r.toSample(this));
            out.add(samples);
        }
        return out;
    }

    /**
     * Samples listed one by one: sample {@code sampleIndices[i]} of {@code requests[i]}, each seeded as in
     * {@link #sample(List, SamplingParams)} ({@code params.n()} is ignored). Lets a resumed run regenerate
     * exactly the samples it lacks.
     */
    @Override public List<Sample> sampleSelected(List<Request> requests, int[] sampleIndices, SamplingParams params) {
        if (requests.size() != sampleIndices.length) throw new IllegalArgumentException("one sample index per request");
        if (tokenizer == null && !params.stop().isEmpty()) throw new IllegalStateException("stop strings need a tokenizer");
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < sampleIndices.length; i++) {
            checkIds(requests.get(i));
            rows.add(new Row(requests.get(i), sampleIndices[i], params));
        }
        run(rows);
        List<Sample> out = new ArrayList<>(rows.size());
        for (Row r : rows) out.add(r.toSample(this));
        return out;
    }

    private void run(List<Row> rows) {
        for (Row r : rows) r.prepare(this);
        boolean training = model.isTraining();
        model.setTraining(false);  // LoRA dropout off while generating
        try (Progress progress = rows.size() > maxBatchRows ? Progress.start("sample", rows.size()) : null) {
            generate(rows, progress);
        } finally {
            model.setTraining(training);
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

    /**
     * Decodes all rows, at most {@code maxBatchRows} at a time (continuous batching). Rows enter the batch in
     * order; consecutive rows with the same context share one prefill ({@link KvCache#selectRows} expands it).
     * Finished rows are dropped from the cache ({@link KvCache#selectRows}, no recomputation) once a quarter of
     * the batch has finished, and waiting rows are prefilled and appended into the free slots
     * ({@link KvCache#appendRows}) once a quarter of the slots are free, so the batch stays full. With compaction
     * off, finished rows are masked until the whole batch is done, and the next rows then start a new batch.
     */
    private void generate(List<Row> rows, Progress progress) {
        ArrayDeque<Row> pending = new ArrayDeque<>();
        for (Row r : rows) if (!r.done) pending.add(r);
        int finishedTotal = rows.size() - pending.size();
        int threshold = Math.max(1, maxBatchRows / 4);
        try (NDManager m = model.weightsManager().newSubManager()) {
            KvCache cache = null;
            List<Row> batch = new ArrayList<>();    // the cache's rows, in order (finished ones until compacted)
            float[] logits = null;                  // (B, V) next-token logits of the batch, on the host
            int vocab = model.config().vocabSize();
            try {
                while (true) {
                    int free = maxBatchRows - batch.size();
                    if (!pending.isEmpty() && (batch.isEmpty() || (compaction && free >= Math.min(threshold, pending.size())))) {
                        List<Row> admitted = new ArrayList<>();
                        while (admitted.size() < free && !pending.isEmpty()) admitted.add(pending.poll());
                        KvCache fresh = model.newCache();
                        float[] freshLogits;
                        try {
                            freshLogits = prefillShared(fresh, admitted, m);
                        } catch (RuntimeException e) {
                            fresh.close();
                            throw e;
                        }
                        if (cache == null) {
                            cache = fresh;
                            logits = freshLogits;
                        } else {
                            try {
                                cache.appendRows(fresh);
                            } finally {
                                fresh.close();
                            }
                            float[] joined = Arrays.copyOf(logits, logits.length + freshLogits.length);
                            System.arraycopy(freshLogits, 0, joined, logits.length, freshLogits.length);
                            logits = joined;
                        }
                        batch.addAll(admitted);
                    }
                    if (batch.isEmpty()) break;
                    long[] next = new long[batch.size()];
                    int live = 0, finished = 0;
                    for (int i = 0; i < batch.size(); i++) {
                        Row r = batch.get(i);
                        if (r.done) {
                            finished++;
                            continue;
                        }
                        next[i] = choose(logits, i * vocab, vocab, r);
                        r.accept((int) next[i], this);
                        if (r.done) {
                            finished++;
                            finishedTotal++;
                        } else {
                            live++;
                        }
                    }
                    if (progress != null) progress.set(finishedTotal, tokensGenerated + " tokens");
                    if (live == 0) {                 // the whole batch is done: start afresh with the waiting rows
                        cache.close();
                        cache = null;
                        batch.clear();
                        if (pending.isEmpty()) break;
                        continue;
                    }
                    if (compaction && finished >= Math.min(threshold, batch.size() / 2 + 1)) {
                        long[] keep = new long[live];
                        long[] keptNext = new long[live];
                        List<Row> survivors = new ArrayList<>(live);
                        for (int i = 0, k = 0; i < batch.size(); i++) {
                            if (batch.get(i).done) continue;
                            keep[k] = i;
                            keptNext[k++] = next[i];
                            survivors.add(batch.get(i));
                        }
                        cache.selectRows(keep);
                        batch = survivors;
                        next = keptNext;
                    }
                    try (NDManager stepManager = m.newSubManager()) {
                        NDArray out = model.step(cache, stepManager.create(next, new Shape(batch.size())));  // (B, V)
                        logits = out.toFloatArray();   // the step's one host copy
                    }
                }
            } finally {
                if (cache != null) cache.close();
            }
        }
    }

    /**
     * Prefills {@code rows} (their prompt and forced prefix; they have generated nothing yet) into {@code cache},
     * each distinct context once: consecutive rows with equal contexts (the n samples of a request) share it.
     * Returns the (B, V) next-token logits of every row, on the host.
     */
    private float[] prefillShared(KvCache cache, List<Row> rows, NDManager m) {
        List<int[]> contexts = new ArrayList<>();
        long[] rowOf = new long[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            int[] c = rows.get(i).context;
            if (contexts.isEmpty() || !Arrays.equals(contexts.get(contexts.size() - 1), c)) contexts.add(c);
            rowOf[i] = contexts.size() - 1;
        }
        int u = contexts.size(), t = 0;
        for (int[] c : contexts) t = Math.max(t, c.length);
        long[] ids = new long[u * t];
        float[] mask = new float[u * t];
        for (int i = 0; i < u; i++) {                                            // left padding
            int[] c = contexts.get(i);
            int off = i * t + (t - c.length);
            for (int j = 0; j < c.length; j++) ids[off + j] = c[j];
            Arrays.fill(mask, off, off + c.length, 1f);
        }
        float[] shared;
        try (NDManager inputs = m.newSubManager()) {
            shared = model.prefill(cache, inputs.create(ids, new Shape(u, t)), inputs.create(mask, new Shape(u, t)))
                    .toFloatArray();                                             // (U, V)
        }
        if (u == rows.size()) return shared;
        cache.selectRows(rowOf);                                                 // (U, ...) -> (B, ...)
        int v = shared.length / u;
        float[] out = new float[rows.size() * v];
        for (int i = 0; i < rows.size(); i++) System.arraycopy(shared, (int) rowOf[i] * v, out, i * v, v);
        return out;
    }

    /**
     * The next token of {@code row} from its logits {@code x[off .. off+v)}, drawn with the row's RNG after
     * temperature, top-k and top-p; stores the token's raw log-probability in the row. All on the host, in
     * double: top-k and top-p pop tokens off a max-heap (O(V + kept·log V)) instead of sorting the vocabulary.
     */
    static long choose(float[] x, int off, int v, Row row) {
        SamplingParams p = row.params;
        int best = 0;
        for (int j = 1; j < v; j++) if (x[off + j] > x[off + best]) best = j;   // first maximum, as torch's argmax
        double max = x[off + best];
        double z = 0;                                                            // sum of exp(x - max): raw log-probs
        int token;
        if (p.isGreedy()) {
            token = best;
            for (int j = 0; j < v; j++) z += Math.exp(x[off + j] - max);
        } else {
            if (!Double.isFinite(max)) {
                throw new IllegalStateException("sampling: the model produced non-finite logits (max " + max + ")");
            }
            double invT = 1.0 / p.temperature();
            double[] w = new double[v];                                          // softmax(x / T), unnormalised
            for (int j = 0; j < v; j++) w[j] = Math.exp((x[off + j] - max) * invT);
            if (invT == 1) {
                for (int j = 0; j < v; j++) z += w[j];
            } else {
                for (int j = 0; j < v; j++) z += Math.exp(x[off + j] - max);
            }
            boolean topK = p.topK() > 0 && p.topK() < v;
            if (!topK && p.topP() >= 1) {
                token = draw(w, null, v, row.rng);
            } else {
                int[] order = nucleus(w, topK ? p.topK() : v, p.topP());
                token = order[draw(w, order, order.length, row.rng)];
            }
        }
        row.pendingLogProb = (float) (x[off + token] - max - Math.log(z));
        return token;
    }

    /**
     * The kept tokens in descending weight: the top {@code k}, then of those (renormalised) the smallest prefix
     * whose mass reaches {@code topP} (the token crossing it kept), as vLLM applies top-k before top-p.
     */
    static int[] nucleus(double[] w, int k, double topP) {
        int v = w.length;
        int[] heap = new int[v];
        for (int j = 0; j < v; j++) heap[j] = j;
        for (int j = v / 2 - 1; j >= 0; j--) siftDown(heap, j, v, w);
        int[] popped = new int[Math.min(k, v)];
        int n = v, count = 0;
        double total = 0;
        if (k < v) {                                                             // top-k first: its mass renormalises
            for (; count < k; count++) {
                popped[count] = heap[0];
                total += w[heap[0]];
                heap[0] = heap[--n];
                siftDown(heap, 0, n, w);
            }
            if (topP >= 1) return popped;
            int kept = 0;
            double before = 0;
            while (kept < count && before < topP * total) before += w[popped[kept++]];
            return Arrays.copyOf(popped, kept);
        }
        for (int j = 0; j < v; j++) total += w[j];
        double before = 0;
        while (count < v && before < topP * total) {
            int top = heap[0];
            popped[count++] = top;
            before += w[top];
            heap[0] = heap[--n];
            if (n > 0) siftDown(heap, 0, n, w);
        }
        return Arrays.copyOf(popped, count);
    }

    private static void siftDown(int[] heap, int i, int n, double[] w) {
        int x = heap[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && better(heap[c + 1], heap[c], w)) c++;
            if (!better(heap[c], x, w)) break;
            heap[i] = heap[c];
            i = c;
        }
        heap[i] = x;
    }

    /** Higher weight first; equal weights by lower token id (a fixed order, whatever the heap's shape). */
    private static boolean better(int a, int b, double[] w) { return w[a] > w[b] || (w[a] == w[b] && a < b); }

    /**
     * Inverse-CDF draw over the weights {@code w[order[0..n)]} ({@code order} null: {@code w[0..n)}); returns the
     * position in that order.
     */
    static int draw(double[] w, int[] order, int n, SplittableRandom rng) {
        double total = 0;
        for (int j = 0; j < n; j++) total += w[order == null ? j : order[j]];
        if (!(total > 0) || Double.isInfinite(total)) {
            throw new IllegalStateException("sampling: the model produced non-finite or all-zero probabilities (sum "
                    + total + "); NaN/Inf logits?");
        }
        double u = rng.nextDouble() * total;
        double acc = 0;
        int last = 0;
        for (int j = 0; j < n; j++) {
            double wj = w[order == null ? j : order[j]];
            if (wj <= 0) continue;
            acc += wj;
            last = j;
            if (u < acc) return j;
        }
        return last;  // rounding: u landed at the very top
    }

    // ------------------------------------------------------------------ per-row state

    static final class Row {
        final Request request;
        final int sampleIndex;
        final SamplingParams params;
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
        // incremental detokenization (as vLLM's): the generated text so far, decoded a few tokens at a time
        final StringBuilder newText = new StringBuilder();
        int prefixOffset, readOffset;  // into textContext + generated
        String prefixDecoded;          // decode of [prefixOffset, readOffset), cached

        Row(Request request, int sampleIndex, SamplingParams params) {
            this.request = request;
            this.sampleIndex = sampleIndex;
            this.params = params;
            this.rng = new SplittableRandom(sampleSeed(params.seed(), request.id(), sampleIndex));
            this.context = concat(request.promptIds(), request.forcedPrefix());
        }

        void prepare(Sampler s) {
            int[] pre = request.forcedPrefix();
            textContext = Arrays.copyOfRange(pre, Math.max(0, pre.length - TEXT_CONTEXT), pre.length);
            textContextDecoded = textContext.length == 0 || s.tokenizer == null ? "" : s.tokenizer.decode(toLongs(textContext, null), true);
            prefixOffset = 0;
            readOffset = textContext.length;
            prefixDecoded = textContextDecoded;
            if (pre.length > 0 && s.eosIds.contains(pre[pre.length - 1])) {
                done = true;  // the forced response already ended
                reason = FinishReason.EOS;
            }
        }

        void accept(int token, Sampler s) {
            SamplingParams p = params;
            generated.add(token);
            logProbs.add(pendingLogProb);
            s.tokensGenerated++;
            if (s.eosIds.contains(token)) {
                finish(FinishReason.EOS);
                return;
            }
            if (!p.stop().isEmpty() && newTextHasStop(p.stop(), s)) {
                // confirm on the whole decoded text, and cut there (the incremental text only finds candidates)
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
         * Appends the newest token's text (decoded after a few tokens of left context, so spaces and multi-byte
         * characters come out right; nothing while the text ends in an incomplete character) and reports whether
         * a stop string now ends in it. Costs two short decodes per step, whatever the sample's length.
         */
        private boolean newTextHasStop(List<String> stops, Sampler s) {
            int n = textContext.length + generated.size();
            String decoded = s.tokenizer.decode(window(prefixOffset, n), true);
            if (decoded.length() <= prefixDecoded.length() || decoded.endsWith("\uFFFD")) return false;
            int before = newText.length();
            newText.append(decoded, prefixDecoded.length(), decoded.length());
            prefixOffset = readOffset;
            readOffset = n;
            prefixDecoded = s.tokenizer.decode(window(prefixOffset, readOffset), true);
            for (String stop : stops) {
                // slack of 3 characters: a left edge decoded differently (see accept)
                if (newText.indexOf(stop, Math.max(0, before - stop.length() - 3)) >= 0) return true;
            }
            return false;
        }

        /** Ids [from, to) of textContext followed by generated. */
        private long[] window(int from, int to) {
            long[] out = new long[to - from];
            for (int i = from; i < to; i++) out[i - from] = i < textContext.length ? textContext[i] : generated.get(i - textContext.length);
            return out;
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

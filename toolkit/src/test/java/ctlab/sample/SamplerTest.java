package ctlab.sample;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.model.LlamaModel;
import ctlab.sample.Sampler.FinishReason;
import ctlab.sample.Sampler.Request;
import ctlab.sample.Sampler.Sample;
import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    static final String[] TEXTS = {"The answer is 72.", "Let x be 5, then 3x + 5 = 20", "Weng earns $12"};
    static LlamaModel llama, qwen;

    @BeforeAll
    static void load() {
        llama = TinyModels.load("llama");
        qwen = TinyModels.load("qwen2");
    }

    @AfterAll
    static void close() {
        llama.close();
        qwen.close();
    }

    static LlamaModel model(String kind) { return kind.equals("llama") ? llama : qwen; }

    static List<Request> requests(LlamaModel m) {
        List<Request> out = new ArrayList<>();
        for (int i = 0; i < TEXTS.length; i++) out.add(Request.of("p" + i, m.tokenizer().encodePrompt(TEXTS[i])));
        return out;
    }

    static SamplingParams params(int n, double t, double topP, int topK, int max) {
        return new SamplingParams(n, t, topP, topK, max, List.of(), 1234);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2"})
    void promptIdsHaveBosExactlyOnceWhenTheModelHasOne(String kind) {
        LlamaModel m = model(kind);
        int[] ids = m.tokenizer().encodePrompt(TEXTS[0]);
        long[] plain = m.tokenizer().encode(TEXTS[0]);
        if (kind.equals("llama")) {
            assertEquals(0, ids[0]);
            assertEquals(plain.length + 1, ids.length);
        } else {
            assertEquals(-1, m.tokenizer().bosId());
            assertEquals(plain.length, ids.length);
        }
        assertArrayEquals(Arrays.stream(plain).mapToInt(x -> (int) x).toArray(), m.tokenizer().encodeResponse(TEXTS[0]));
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2"})
    void temperatureZeroEqualsLlamaModelGreedy(String kind) {
        LlamaModel m = model(kind);
        List<Request> reqs = requests(m);
        List<int[]> prompts = reqs.stream().map(Request::promptIds).toList();
        List<int[]> expected = Sampler.greedy(m, prompts, 12, 1);
        List<Sample> got = new Sampler(m).sample(reqs, SamplingParams.greedy(12));
        for (int i = 0; i < prompts.size(); i++) {
            assertArrayEquals(expected.get(i), got.get(i).tokenIds(), kind + " prompt " + i);
            FinishReason want = expected.get(i)[expected.get(i).length - 1] == 1 ? FinishReason.EOS : FinishReason.LENGTH;
            assertEquals(want, got.get(i).finishReason());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2"})
    void topKOneEqualsGreedyAtAnyTemperature(String kind) {
        LlamaModel m = model(kind);
        List<Request> reqs = requests(m);
        List<int[]> expected = Sampler.greedy(m, reqs.stream().map(Request::promptIds).toList(), 12, 1);
        List<Sample> got = new Sampler(m).sample(reqs, params(3, 1.7, 1.0, 1, 12));
        for (Sample s : got) {
            int p = Integer.parseInt(s.requestId().substring(1));
            assertArrayEquals(expected.get(p), s.tokenIds(), s.requestId() + "/" + s.sampleIndex());
        }
    }

    @Test
    void sameSampleAloneOrInsideAnyBatchIsIdentical() {
        List<Request> reqs = requests(llama);
        SamplingParams p = params(4, 1.0, 0.9, 0, 12);
        List<Sample> all = new Sampler(llama).sample(reqs, p);
        assertEquals(12, all.size());
        // other batch compositions: 2 rows per batch, no compaction, one request alone, one sample alone
        List<Sample> small = new Sampler(llama).maxBatchRows(2).sample(reqs, p);
        List<Sample> masked = new Sampler(llama).compaction(false).sample(reqs, p);
        List<Sample> alone = new Sampler(llama).sample(reqs.get(1), p);
        List<Sample> one = new Sampler(llama).sampleSelected(List.of(reqs.get(2)), new int[] {3}, p);
        for (int i = 0; i < all.size(); i++) {
            assertArrayEquals(all.get(i).tokenIds(), small.get(i).tokenIds(), "maxBatchRows 2, row " + i);
            assertEquals(all.get(i).text(), small.get(i).text());
            assertArrayEquals(all.get(i).tokenIds(), masked.get(i).tokenIds(), "no compaction, row " + i);
        }
        for (int j = 0; j < 4; j++) assertArrayEquals(all.get(4 + j).tokenIds(), alone.get(j).tokenIds(), "alone " + j);
        assertArrayEquals(all.get(11).tokenIds(), one.get(0).tokenIds());
        assertEquals(all.get(11).text(), one.get(0).text());
        // samples of one prompt differ from each other, and a different root seed changes them
        Set<String> texts = new HashSet<>();
        for (int j = 0; j < 4; j++) texts.add(all.get(j).text());
        assertTrue(texts.size() > 1, "4 samples at temperature 1 should not all be equal");
        List<Sample> other = new Sampler(llama).sample(reqs, p.withSeed(99));
        assertFalse(Arrays.equals(all.get(0).tokenIds(), other.get(0).tokenIds())
                && Arrays.equals(all.get(1).tokenIds(), other.get(1).tokenIds()));
    }

    @Test
    void severalSetupsInOnePassEqualEachSetupAlone() {
        // eval's shape: one greedy answer and pass@k samples per problem, sharing each prompt's prefill;
        // 4 rows per batch so rows also join a running batch (continuous batching)
        List<Request> reqs = requests(llama);
        SamplingParams greedy = SamplingParams.greedy(10), pass = params(3, 1.0, 0.9, 0, 10);
        List<List<Sample>> both = new Sampler(llama).maxBatchRows(4).sample(reqs, List.of(greedy, pass));
        List<Sample> g = new Sampler(llama).sample(reqs, greedy), p = new Sampler(llama).sample(reqs, pass);
        assertEquals(g.size(), both.get(0).size());
        assertEquals(p.size(), both.get(1).size());
        for (int i = 0; i < g.size(); i++) assertArrayEquals(g.get(i).tokenIds(), both.get(0).get(i).tokenIds(), "greedy " + i);
        for (int i = 0; i < p.size(); i++) {
            assertEquals(p.get(i).requestId(), both.get(1).get(i).requestId());
            assertArrayEquals(p.get(i).tokenIds(), both.get(1).get(i).tokenIds(), "pass sample " + i);
        }
    }

    @Test
    void nucleusEqualsTheSortedPrefix() {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(5);
        for (int trial = 0; trial < 200; trial++) {
            int v = 1 + rng.nextInt(300);
            double[] w = new double[v];
            for (int j = 0; j < v; j++) w[j] = Math.exp(rng.nextGaussian() * 3);
            int k = rng.nextBoolean() ? v : 1 + rng.nextInt(v);
            double topP = rng.nextBoolean() ? 1.0 : rng.nextDouble();
            Integer[] order = new Integer[v];
            for (int j = 0; j < v; j++) order[j] = j;
            Arrays.sort(order, (a, b) -> Double.compare(w[b], w[a]));
            int kk = Math.min(k, v);
            double total = 0;
            for (int j = 0; j < kk; j++) total += w[order[j]];
            List<Integer> want = new ArrayList<>();
            double before = 0;
            for (int j = 0; j < kk && (topP >= 1 || before < topP * total); j++) {
                want.add(order[j]);
                before += w[order[j]];
            }
            int[] got = Sampler.nucleus(w, k, topP);
            assertEquals(want, Arrays.stream(got).boxed().toList(), "v " + v + " k " + k + " p " + topP);
        }
    }

    @Test
    void logProbsAreTheModelsRawTeacherForcedLogProbs() {
        Request r = requests(qwen).get(0);
        Sample s = new Sampler(qwen).sample(r, params(1, 0.7, 0.95, 0, 10)).get(0);
        int[] full = Sampler.concat(r.promptIds(), s.tokenIds());
        try (NDManager m = NDManager.newBaseManager()) {
            long[] ids = Arrays.stream(full).asLongStream().toArray();
            NDArray lp = qwen.sequenceLogProbs(m.create(ids, new Shape(1, ids.length)), m.ones(new Shape(1, ids.length)));
            float[] all = lp.toFloatArray();  // entry t = log p(ids[t+1] | ids[..t])
            for (int i = 0; i < s.numTokens(); i++) {
                assertEquals(all[r.promptIds().length - 1 + i], s.logProbs()[i], 1e-4, "token " + i);
            }
        }
    }

    @Test
    void firstTokenFrequenciesMatchTheSoftmaxAtTemperatureOne() {
        Request r = requests(llama).get(2);
        int draws = 4000;
        List<Sample> got = new Sampler(llama).maxBatchRows(500).sample(r, params(draws, 1.0, 1.0, 0, 1));
        double[] p = firstTokenProbs(llama, r.promptIds(), 1.0);
        long[] counts = new long[p.length];
        for (Sample s : got) counts[s.tokenIds()[0]]++;
        // pool tokens with expected count < 5 into one bin, then Pearson's chi-square test
        List<Double> exp = new ArrayList<>();
        List<Long> obs = new ArrayList<>();
        double restE = 0;
        long restO = 0;
        for (int v = 0; v < p.length; v++) {
            if (p[v] * draws >= 5) {
                exp.add(p[v] * draws);
                obs.add(counts[v]);
            } else {
                restE += p[v] * draws;
                restO += counts[v];
            }
        }
        exp.add(restE);
        obs.add(restO);
        double pValue = new ChiSquareTest().chiSquareTest(exp.stream().mapToDouble(Double::doubleValue).toArray(),
                obs.stream().mapToLong(Long::longValue).toArray());
        System.out.printf("first-token chi-square over %d bins: p = %.3f%n", exp.size(), pValue);
        assertTrue(exp.size() > 20, "the tiny model's first-token distribution should be spread out");
        assertTrue(pValue > 1e-3, "sampled first tokens do not follow the softmax, p = " + pValue);
        // the same draws against a wrong distribution (temperature 0.5) must be rejected
        double[] q = firstTokenProbs(llama, r.promptIds(), 0.5);
        double[] expWrong = new double[p.length];
        for (int v = 0; v < p.length; v++) expWrong[v] = q[v] * draws + 1e-9;
        assertTrue(new ChiSquareTest().chiSquareTest(expWrong, counts) < 1e-6);
    }

    @Test
    void topPAndTopKKeepOnlyTheNucleus() {
        Request r = requests(llama).get(1);
        double[] p = firstTokenProbs(llama, r.promptIds(), 1.0);
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < p.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        Set<Integer> nucleus = new HashSet<>();
        double mass = 0;
        for (int v : order) {
            if (mass >= 0.3) break;
            nucleus.add(v);
            mass += p[v];
        }
        Set<Integer> top3 = Set.of(order[0], order[1], order[2]);
        Set<Integer> seenP = new HashSet<>(), seenK = new HashSet<>();
        for (Sample s : new Sampler(llama).maxBatchRows(400).sample(r, params(400, 1.0, 0.3, 0, 1))) seenP.add(s.tokenIds()[0]);
        for (Sample s : new Sampler(llama).maxBatchRows(400).sample(r, params(400, 1.0, 1.0, 3, 1))) seenK.add(s.tokenIds()[0]);
        assertEquals(nucleus, seenP, "top-p 0.3 should produce exactly the nucleus tokens (400 draws)");
        assertEquals(top3, seenK);
    }

    @Test
    void stopStringsCutTheTextBeforeTheFirstListedMatch() {
        Request r = requests(llama).get(0);
        Sampler sampler = new Sampler(llama);
        Sample free = sampler.sample(r, params(1, 1.0, 1.0, 0, 30)).get(0);
        String t = free.text();
        assertTrue(t.length() > 12, "need some text: " + t);
        // a stop string from the middle, and its 2-char suffix (which completes at the same token)
        int a = t.length() / 2;
        String longStop = t.substring(a, a + 3), shortStop = t.substring(a + 1, a + 3);
        int firstLong = t.indexOf(longStop), firstShort = t.indexOf(shortStop);
        Sample s1 = sampler.sample(r, params(1, 1.0, 1.0, 0, 30).withStop(List.of("\u0000never", longStop))).get(0);
        assertEquals(FinishReason.STOP, s1.finishReason());
        assertEquals(longStop, s1.stopString());
        assertEquals(t.substring(0, firstLong), s1.text());
        // tokens: all generated up to and including the token that completed the stop string
        assertArrayEquals(Arrays.copyOf(free.tokenIds(), s1.numTokens()), s1.tokenIds());
        String before = llama.tokenizer().decode(Arrays.stream(Arrays.copyOf(s1.tokenIds(), s1.numTokens() - 1))
                .asLongStream().toArray(), true);
        assertFalse(before.contains(longStop), "the stop completed at the last kept token");
        if (firstShort == firstLong + 1) {  // list order decides when two stops complete on the same token
            Sample s2 = sampler.sample(r, params(1, 1.0, 1.0, 0, 30).withStop(List.of(shortStop, longStop))).get(0);
            assertEquals(shortStop, s2.stopString());
            assertEquals(t.substring(0, firstShort), s2.text());
        }
        // late in a long sample (past the decoded window of 4 * 3 + 4 tokens): the same cut as on the full text
        Sample longFree = sampler.sample(r, params(1, 1.0, 1.0, 0, 60)).get(0);
        String lt = longFree.text();
        String late = lt.substring(lt.length() - 6, lt.length() - 3);
        Sample s3 = sampler.sample(r, params(1, 1.0, 1.0, 0, 60).withStop(List.of(late))).get(0);
        assertTrue(s3.numTokens() > 16, "stop should complete after the window: " + s3.numTokens());
        assertEquals(lt.substring(0, lt.indexOf(late)), s3.text());
        assertEquals(FinishReason.STOP, s3.finishReason());
        Sample none = sampler.sample(r, params(1, 1.0, 1.0, 0, 30).withStop(List.of("\u0000never"))).get(0);
        assertNull(none.stopString());
        assertEquals(t, none.text());
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2"})
    void forcedPrefixContinuesFromExactTokens(String kind) {
        LlamaModel m = model(kind);
        Request base = requests(m).get(1);
        int[] greedy = Sampler.greedy(m, List.of(base.promptIds()), 12, -1).get(0);
        int[] prefix = Arrays.copyOf(greedy, 5);
        Sampler s = new Sampler(m);
        Sample cont = s.sample(new Request("p1", base.promptIds(), prefix), SamplingParams.greedy(7)).get(0);
        assertArrayEquals(Arrays.copyOfRange(greedy, 5, 12), cont.tokenIds());
        String whole = m.tokenizer().decode(Arrays.stream(greedy).asLongStream().toArray(), true);
        String head = m.tokenizer().decode(Arrays.stream(prefix).asLongStream().toArray(), true);
        assertEquals(whole, head + cont.text(), "prefix text + continuation text = text of all tokens");
        // a prefix that already ended with EOS generates nothing
        Sample ended = s.sample(new Request("p1", base.promptIds(), new int[] {prefix[0], 1}), params(2, 1, 1, 0, 5)).get(1);
        assertEquals(0, ended.numTokens());
        assertEquals(FinishReason.EOS, ended.finishReason());
    }

    @Test
    void lengthLimitAndTokenCount() {
        Sampler s = new Sampler(qwen);
        List<Sample> got = s.sample(requests(qwen), params(2, 1.0, 1.0, 0, 4));
        long total = 0;
        for (Sample x : got) {
            assertTrue(x.numTokens() <= 4);
            assertEquals(x.numTokens(), x.logProbs().length);
            if (x.finishReason() == FinishReason.LENGTH) assertEquals(4, x.numTokens());
            total += x.numTokens();
        }
        assertEquals(total, s.tokensGenerated());
    }

    @Test
    void paramsAndSamplesAreJsonRecords() throws Exception {
        SamplingParams p = SamplingParams.official(4, 0.5, 42);
        String line = Jsonl.toLine(p);
        assertTrue(line.contains("\"top_p\":0.95") && line.contains("\"max_new_tokens\":1024"), line);
        assertEquals(p, Jsonl.MAPPER.readValue(line, SamplingParams.class));
        Sample s = new Sampler(qwen).sample(requests(qwen).get(0), params(1, 1, 1, 0, 3)).get(0);
        JsonNode j = Jsonl.MAPPER.readTree(Jsonl.toLine(s));
        assertEquals("p0", j.get("request_id").asText());
        assertEquals(s.numTokens(), j.get("token_ids").size());
        assertEquals(s.finishReason().json(), j.get("finish_reason").asText());
        assertTrue(Set.of("eos", "stop", "length").contains(j.get("finish_reason").asText()));
        Sample back = Jsonl.MAPPER.readValue(Jsonl.toLine(s), Sample.class);
        assertArrayEquals(s.tokenIds(), back.tokenIds());
        assertArrayEquals(s.logProbs(), back.logProbs());
        assertEquals(s.finishReason(), back.finishReason());
        assertEquals(s.text(), back.text());
    }

    @Test
    void badInputsAreUserErrorsNamingTheField() {
        assertTrue(assertThrows(CtlabException.class, () -> params(0, 1, 1, 0, 5)).getMessage().contains("n must"));
        assertTrue(assertThrows(CtlabException.class, () -> params(1, -1, 1, 0, 5)).getMessage().contains("temperature"));
        assertTrue(assertThrows(CtlabException.class, () -> params(1, 1, 0, 0, 5)).getMessage().contains("top_p"));
        assertTrue(assertThrows(CtlabException.class, () -> params(1, 1, 1.5, 0, 5)).getMessage().contains("top_p"));
        assertTrue(assertThrows(CtlabException.class, () -> params(1, 1, 1, -1, 5)).getMessage().contains("top_k"));
        assertTrue(assertThrows(CtlabException.class, () -> params(1, 1, 1, 0, 0)).getMessage().contains("max_new_tokens"));
        assertTrue(assertThrows(CtlabException.class,
                () -> new Sampler(qwen).sample(Request.of("bad", new int[] {5, 300}), params(1, 1, 1, 0, 2)))
                .getMessage().contains("'bad'"));
    }

    /** softmax(logits / t) of the first generated token, computed directly with the model. */
    static double[] firstTokenProbs(LlamaModel model, int[] prompt, double t) {
        try (NDManager m = NDManager.newBaseManager()) {
            long[] ids = Arrays.stream(prompt).asLongStream().toArray();
            NDArray logits = model.logits(m.create(ids, new Shape(1, ids.length)), m.ones(new Shape(1, ids.length)));
            float[] last = logits.get("0, -1, :").div(t).softmax(0).toFloatArray();
            double[] out = new double[last.length];
            for (int i = 0; i < last.length; i++) out[i] = last[i];
            return out;
        }
    }
}

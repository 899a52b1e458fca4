package ctlab.sample.remote;

import ctlab.io.Jsonl;
import ctlab.model.LlamaModel;
import ctlab.model.Tokenizer;
import ctlab.sample.Sampler;
import ctlab.sample.Sampler.FinishReason;
import ctlab.sample.Sampler.Request;
import ctlab.sample.Sampler.Sample;
import ctlab.sample.SamplingParams;
import ctlab.task.Grader;
import ctlab.task.Problem;
import ctlab.task.organism.OrganismEval;
import ctlab.task.organism.OrganismTask;
import ctlab.task.organism.PretrainConfig;
import ctlab.task.organism.ProblemGenerator;
import ctlab.task.organism.Split;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The real vLLM server (docs/vllm.md) on models/organism-base: 16 organism test prompts × 8 samples through
 * {@link OpenAiCompletions}, checked field by field and against the local {@link Sampler}.
 *
 * <p>Runs only where vLLM is installed: {@code CTLAB_VLLM_PYTHON=/path/to/venv/bin/python} (the test starts
 * tools/vllm/serve.sh on a free loopback port with a bounded lifetime and stops it by PID), or
 * {@code CTLAB_VLLM_URL=http://127.0.0.1:PORT} for a server already serving models/organism-base.
 *
 * <p><b>Accuracy test.</b> Per problem i, d_i = (correct vLLM samples − correct local samples) / 8. Samples of
 * one problem are correlated, so the unit is the problem: the test passes when |mean d| ≤ 4 standard errors
 * of the mean (sd(d)/√16), i.e. a paired t-test with 15 degrees of freedom at p ≈ 0.001 (or, if every d_i is
 * equal, when that common value is within 1/8 of 0). The two engines compute the same distributions, so a
 * failure means a real mismatch (a wrong prompt, a BOS lost, top-p/top-k mapped wrong), not noise.
 */
@Tag("vllm")
@EnabledIf("ctlab.sample.remote.VllmTestServer#available")
class VllmServerTest {
    static final int PROMPTS = 16, N = 8;
    static final String STOP = " The answer is";

    @Test
    void organismSamplesThroughRealVllmMatchTheLocalSampler() throws Exception {
        Path root = VllmTestServer.root();
        try (VllmTestServer server = VllmTestServer.startOrAttach(root, "models/organism-base", 1200,
                Files.createTempDirectory("ctlab-vllm"), Map.of())) {
            check(server.url(), root.resolve("models/organism-base"));
        }
    }

    private void check(String url, Path modelDir) throws IOException {
        PretrainConfig c = Jsonl.MAPPER.readValue(Files.readString(modelDir.resolve("pretrain_config.json")), PretrainConfig.class);
        List<Problem> problems = new ProblemGenerator(c.difficulty(), c.dataSeed()).split(Split.TEST, c.testProblems())
                .subList(0, PROMPTS).stream().map(OrganismTask::toProblem).toList();
        OrganismTask task = OrganismTask.INSTANCE;
        SamplingParams params = new SamplingParams(N, 1.0, 0.95, 0, 96, task.stopStrings(), 1);

        try (LlamaModel model = LlamaModel.load(modelDir)) {
            Tokenizer tok = model.tokenizer();
            List<Request> requests = new ArrayList<>();
            for (Problem p : problems) requests.add(Request.of(p.id(), OrganismEval.promptIds(tok, task, p.question())));

            List<List<Sample>> remote, stopped;
            double remoteSeconds;
            OpenAiCompletions.ServerInfo info;
            try (OpenAiCompletions client = new OpenAiCompletions(OpenAiCompletions.Config.of(url).withConcurrency(PROMPTS))) {
                info = client.serverInfo();
                long t0 = System.nanoTime();
                remote = client.completeAll(requests, params, null);
                remoteSeconds = (System.nanoTime() - t0) / 1e9;
                // the official stop strings never fire on the organism (it ends with EOS); " The answer is" ends
                // every response that is not cut by max_tokens, so STOP finishes get checked too
                stopped = client.completeAll(requests.subList(0, 4), params.withStop(List.of(STOP)), null);
            }
            String load1 = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];

            Sampler sampler = new Sampler(model, tok);
            long t0 = System.nanoTime();
            List<Sample> localFlat = sampler.sample(requests, params);
            double localSeconds = (System.nanoTime() - t0) / 1e9;
            String load2 = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];

            int remoteTokens = 0, localTokens = localFlat.stream().mapToInt(Sample::numTokens).sum();
            double[] d = new double[PROMPTS];
            int remoteCorrect = 0, localCorrect = 0, stops = 0, eos = 0;
            for (int i = 0; i < PROMPTS; i++) {
                List<Sample> rs = remote.get(i);
                assertEquals(N, rs.size());
                int rc = 0, lc = 0;
                for (int j = 0; j < N; j++) {
                    Sample s = rs.get(j);
                    assertEquals(requests.get(i).id(), s.requestId());
                    assertEquals(j, s.sampleIndex());
                    assertTrue(s.tokenIds().length >= 1 && s.tokenIds().length <= params.maxNewTokens());
                    assertEquals(s.tokenIds().length, s.logProbs().length, "one log-prob per token id");
                    for (float lp : s.logProbs()) assertTrue(lp <= 0 && Float.isFinite(lp), "log-prob " + lp);
                    for (int id : s.tokenIds()) assertTrue(id >= 0 && id < tok.vocabSize(), "token id " + id);
                    assertIdsDecodeToText(tok, s, sampler);
                    remoteTokens += s.tokenIds().length;
                    if (s.finishReason() == FinishReason.STOP) stops++;
                    if (s.finishReason() == FinishReason.EOS) eos++;
                    if (Grader.grade(task, problems.get(i), s.text()).equal()) rc++;
                    if (Grader.grade(task, problems.get(i), localFlat.get(i * N + j).text()).equal()) lc++;
                }
                remoteCorrect += rc;
                localCorrect += lc;
                d[i] = (rc - lc) / (double) N;
            }
            int stopFinishes = 0;
            for (List<Sample> rs : stopped) {
                for (Sample s : rs) {
                    assertIdsDecodeToText(tok, s, sampler);
                    assertEquals(s.tokenIds().length, s.logProbs().length);
                    if (s.finishReason() == FinishReason.STOP) {
                        stopFinishes++;
                        assertEquals(STOP, s.stopString());
                        assertFalse(s.text().contains(STOP), "text cut before the stop string: " + s.text());
                    }
                }
            }
            assertTrue(stopFinishes >= 16, "stop string '" + STOP + "' ended " + stopFinishes + " of 32 samples");
            double mean = Arrays.stream(d).average().orElseThrow();
            double sd = Math.sqrt(Arrays.stream(d).map(x -> (x - mean) * (x - mean)).sum() / (PROMPTS - 1));
            double se = sd / Math.sqrt(PROMPTS);
            System.out.printf("vLLM %s (%s): %d/%d correct, %d tokens in %.2f s = %.0f tokens/s (load %s); "
                            + "local Sampler: %d/%d correct, %d tokens in %.2f s = %.0f tokens/s (load %s); "
                            + "finish: %d eos, %d stop; mean paired difference %.3f, se %.3f%n",
                    info.version(), info.model(), remoteCorrect, PROMPTS * N, remoteTokens, remoteSeconds,
                    remoteTokens / remoteSeconds, load1, localCorrect, PROMPTS * N, localTokens, localSeconds,
                    localTokens / localSeconds, load2, eos, stops, mean, se);
            assertNotNull(info.version(), "vLLM reports /version");
            assertTrue(remoteCorrect > 0 && localCorrect > 0, "both engines solve some problems");
            assertTrue(eos > 0, "the organism ends samples with EOS");
            if (se > 0) assertTrue(Math.abs(mean) <= 4 * se, "accuracy differs beyond noise: mean " + mean + ", se " + se);
            else assertTrue(Math.abs(mean) <= 1.0 / N, "accuracy differs: " + mean);
        }
    }

    /**
     * The ids decode (ctlab's tokenizer) to the returned text: EOS and anything after it dropped, special tokens
     * skipped; for a stop-string finish the decoded ids continue the text with the stop string.
     */
    static void assertIdsDecodeToText(Tokenizer tok, Sample s, Sampler sampler) {
        int[] ids = s.tokenIds();
        int end = ids.length;
        if (s.finishReason() == FinishReason.EOS) {
            assertTrue(sampler.eosIds().contains(ids[end - 1]), "EOS finish ends with an EOS id: " + Arrays.toString(ids));
            end--;
        } else {
            for (int id : ids) assertFalse(sampler.eosIds().contains(id), "no EOS inside a non-EOS sample");
        }
        String decoded = tok.decode(Arrays.stream(ids, 0, end).asLongStream().toArray(), true);
        String where = s.requestId() + "#" + s.sampleIndex() + " " + s.finishReason();
        if (s.finishReason() == FinishReason.STOP) {
            assertTrue(decoded.startsWith(s.text() + s.stopString()), where + ": '" + decoded + "' vs '" + s.text() + "'");
        } else {
            assertEquals(decoded, s.text(), where);
        }
    }
}

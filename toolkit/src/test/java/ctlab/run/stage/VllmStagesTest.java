package ctlab.run.stage;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import ctlab.model.Tokenizer;
import ctlab.run.ChildJvm;
import ctlab.sample.remote.VllmTestServer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The organism demo (configs/demo-traps.yaml, made smaller) with {@code sample/rollout/eval.backend: openai} on a
 * real vLLM CPU server (docs/vllm.md): a child JVM is killed with SIGKILL mid-sample and the same command run again
 * finishes the whole demo; then every problem is sampled exactly once, in order; the sample records have every field
 * the local backend writes and their ids decode to their text; the stage metrics name the server; and the greedy
 * accuracy of base, dpo and cdpo (the adapters applied by the server's LoRA) equals, within noise, the local
 * backend's on the same adapters (eval re-run with {@code eval.backend: local} on a copy of the run).
 *
 * <p>Runs where vLLM is installed: {@code CTLAB_VLLM_PYTHON=VENV/bin/python} (the test starts tools/vllm/serve.sh on
 * a free loopback port for models/organism-traps with runtime LoRA loading and a bounded lifetime, and stops it by
 * PID), or {@code CTLAB_VLLM_URL} for such a server already running.
 *
 * <p><b>Accuracy.</b> Per method, over the same problems, d_i = correct_vLLM(i) − correct_local(i); the test passes
 * when |mean d| ≤ 4 standard errors (paired t, p ≈ 0.001), or when at most 2% of the problems differ (greedy decoding
 * on two engines differs only where two tokens tie to float rounding).
 */
@Tag("vllm")
@Tag("slow")
@EnabledIf("ctlab.sample.remote.VllmTestServer#available")
class VllmStagesTest {
    static final int PROBLEMS = 64, EVAL = 200;
    static final Duration LIMIT = Duration.ofMinutes(20);

    @TempDir Path tmp;

    @Test
    void demoStagesThroughVllmResumeAfterSigkillAndMatchTheLocalBackend() throws Exception {
        Path root = VllmTestServer.root();
        try (VllmTestServer server = VllmTestServer.startOrAttach(root, "models/organism-traps", 2400, tmp.resolve("server"),
                Map.of("VLLM_ALLOW_RUNTIME_LORA_UPDATING", "True", "CTLAB_VLLM_ARGS", "--enable-lora --max-lora-rank 16"))) {
            check(root, server.url());
        }
    }

    private String[] demo(Path root, String runDir, String... more) {
        List<String> a = new ArrayList<>(List.of("demo", "--config", root.resolve("configs/demo-traps.yaml").toString(),
                "--run-dir", runDir, "--set", "model=" + root.resolve("models/organism-traps"),
                "--set", "sample.problems=" + PROBLEMS, "--set", "sample.batch_size=4",
                "--set", "rollout.trajectories=4", "--set", "eval.problems=" + EVAL));
        for (String s : more) { a.add("--set"); a.add(s); }
        return a.toArray(String[]::new);
    }

    private void check(Path root, String url) throws Exception {
        String[] remote = demo(root, "remote", "sample.backend=openai", "rollout.backend=openai", "eval.backend=openai",
                "openai.base_url=" + url, "openai.concurrency=16");
        Path samples = tmp.resolve("remote/01-sample/samples.jsonl");
        Process p = ChildJvm.ctlab(tmp, List.of(), remote);
        ChildJvm.await(p, tmp, LIMIT, "8 sampled problems", () -> ChildJvm.completeLines(samples) >= 8);
        ChildJvm.kill(p);
        int afterKill = ChildJvm.completeLines(samples);
        assertTrue(afterKill < PROBLEMS, "killed mid-stage, records: " + afterKill);
        p = ChildJvm.ctlab(tmp, List.of(), remote);
        assertEquals(0, ChildJvm.finish(p, tmp, LIMIT), ChildJvm.output(p, tmp));
        assertTrue(Files.readString(tmp.resolve("remote/01-sample/log.txt")).contains("resuming: "));

        // every problem exactly once, in order
        List<JsonNode> recs = lines(samples);
        List<String> want = lines(tmp.resolve("remote/data/train.jsonl")).subList(0, PROBLEMS).stream()
                .map(n -> n.get("id").asText()).toList();
        assertEquals(want, recs.stream().map(n -> n.get("problem_id").asText()).toList());

        // the same fields as the local backend's records (a local sample stage on 2 problems), ids decode to the text
        Process local = ChildJvm.ctlab(tmp, List.of(), "run", root.resolve("configs/demo-traps.yaml").toString(),
                "--run-dir", "local", "--only", "sample", "--set", "model=" + root.resolve("models/organism-traps"),
                "--set", "data.train=" + tmp.resolve("remote/data/train.jsonl"), "--set", "sample.problems=2");
        assertEquals(0, ChildJvm.finish(local, tmp, LIMIT), ChildJvm.output(local, tmp));
        JsonNode localRec = lines(tmp.resolve("local/01-sample/samples.jsonl")).get(0);
        Tokenizer tok = Tokenizer.load(root.resolve("models/organism-traps"));
        for (JsonNode r : recs) {
            assertEquals(names(localRec), names(r));
            for (JsonNode s : r.get("samples")) {
                Set<String> need = names(localRec.get("samples").get(0));
                need.remove("planted");                 // only on samples that reached a trap
                assertTrue(names(s).containsAll(need), names(s) + " lacks some of " + need);
                long[] ids = new long[s.get("response_ids").size()];
                for (int i = 0; i < ids.length; i++) ids[i] = s.get("response_ids").get(i).asLong();
                assertTrue(tok.decode(ids, true).startsWith(s.get("text").asText()), "ids decode to the text: " + s);
                assertTrue(s.get("token_ids").size() >= ids.length);
            }
        }
        JsonNode metrics = lines(tmp.resolve("remote/01-sample/metrics.jsonl")).get(0);
        assertEquals("openai", metrics.get("backend").asText());
        assertTrue(metrics.get("server_version").isTextual(), metrics.toString());

        // eval of the same adapters with the local backend, on a copy of the run
        copy(tmp.resolve("remote"), tmp.resolve("local-eval"));
        Process le = ChildJvm.ctlab(tmp, List.of(), "run", tmp.resolve("local-eval/config.yaml").toString(),
                "--run-dir", "local-eval", "--only", "eval", "--force", "eval", "--set", "eval.backend=local");
        assertEquals(0, ChildJvm.finish(le, tmp, LIMIT), ChildJvm.output(le, tmp));
        for (String method : List.of("base", "dpo", "cdpo")) {
            List<JsonNode> a = lines(tmp.resolve("remote/08-eval/eval-" + method + ".jsonl"));
            List<JsonNode> b = lines(tmp.resolve("local-eval/08-eval/eval-" + method + ".jsonl"));
            assertEquals(EVAL, a.size());
            double[] d = new double[a.size()];
            int differ = 0;
            for (int i = 0; i < d.length; i++) {
                assertEquals(a.get(i).get("problem_id"), b.get(i).get("problem_id"));
                d[i] = (a.get(i).get("correct").asBoolean() ? 1 : 0) - (b.get(i).get("correct").asBoolean() ? 1 : 0);
                if (d[i] != 0) differ++;
            }
            double mean = Arrays.stream(d).average().orElse(0);
            double sd = Math.sqrt(Arrays.stream(d).map(x -> (x - mean) * (x - mean)).sum() / (d.length - 1));
            assertTrue(differ <= 0.02 * d.length || Math.abs(mean) <= 4 * sd / Math.sqrt(d.length),
                    method + ": vLLM vs local greedy, " + differ + " problems differ, mean difference " + mean);
        }
    }

    private static List<JsonNode> lines(Path f) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(f)) if (!l.isBlank()) out.add(Jsonl.MAPPER.readTree(l));
        return out;
    }

    private static Set<String> names(JsonNode n) {
        Set<String> s = new HashSet<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) s.add(it.next());
        return s;
    }

    private static void copy(Path from, Path to) throws Exception {
        try (var walk = Files.walk(from)) {
            for (Path f : walk.toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(t);
                else Files.copy(f, t);
            }
        }
    }
}

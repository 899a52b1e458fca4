package ctlab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.io.Jsonl;
import ctlab.data.EvalOutcome;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code ctlab ablate --seeds ... --grid ...}: the grid on configs/organism-ci.yaml made tiny, and bad grid input. */
class AblateCommandTest {
    @TempDir Path tmp;
    StringWriter out = new StringWriter(), err = new StringWriter();

    static Path repo() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("configs"))) p = p.getParent();
        return p;
    }

    int ablate(String... args) {
        out = new StringWriter();
        err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of("ablate", repo().resolve("configs/organism-ci.yaml").toString()));
        all.addAll(List.of(args));
        return cl.execute(all.toArray(String[]::new));
    }

    /** organism-ci with a dozen problems, few samples, one rollout trajectory: seconds per sub-run. */
    static List<String> tiny() {
        List<String> a = new ArrayList<>();
        for (String s : List.of("model=" + repo().resolve("models/organism-base"), "sample.problems=12", "sample.n=4",
                "sample.max_new_tokens=96", "sft.epochs=1", "rollout.trajectories=1", "rollout.k=2", "rollout.max_new_tokens=48",
                "train.epochs=2", "eval.problems=12", "eval.max_new_tokens=96")) {
            a.add("--set");
            a.add(s);
        }
        return a;
    }

    @Test void badGridInputIsOneLineExit2AndWritesNothing() {
        Path run = tmp.resolve("run");
        // the first grid value is fine, the second is not: the whole grid is checked before anything runs
        String[][] cases = {
                {"--seeds", "1,2", "--grid", "train.lr=1e-4,-1"},
                {"--seeds", "1,2", "--grid", "train.lrr=1"},
                {"--seeds", "1,x"},
                {"--seeds", "1", "--grid", "seed=1,2"},
                {"--seeds", "1", "--grid", "train.beta=0.1/2"},
                {"--seeds", "1", "--skip", "eval"},
        };
        String[] expected = {
                "error: ablate grid, sub-run seed-1/train.lr=-1: --set train.lr=-1: train.lr: must be > 0, got -1",
                "error: ablate grid, sub-run seed-1/train.lrr=1: --set train.lrr=1: train.lrr: unknown key (did you mean lr?)",
                "error: --seeds: 'x' is not a whole number",
                "error: --grid seed: use --seeds for seed",
                "error: --grid train.beta: value '0.1/2' must be a plain word or number (it names a folder)",
                "error: --skip eval: the ablation table needs stage eval",
        };
        for (int i = 0; i < cases.length; i++) {
            List<String> args = new ArrayList<>(List.of("--run-dir", run.toString()));
            args.addAll(List.of(cases[i]));
            assertEquals(2, ablate(args.toArray(String[]::new)), err.toString());
            assertEquals(expected[i], err.toString().strip());
            assertFalse(Files.exists(run), "nothing written for " + List.of(cases[i]));
        }
        assertEquals(2, ablate("--run-dir", run.toString(), "--seeds", "1", "--skip", "rollot"), err.toString());
        assertTrue(err.toString().contains("rollot") && err.toString().strip().lines().count() == 1, err.toString());
        assertFalse(Files.exists(run));
    }

    @Test void twoSeedsTwoLossesSubRunsResumeAndAggregate() throws Exception {
        Assumptions.assumeTrue(Files.isRegularFile(repo().resolve("models/organism-base/model.safetensors")),
                "models/organism-base is not in this checkout");
        Path run = tmp.resolve("run");
        List<String> args = new ArrayList<>(List.of("--run-dir", run.toString(), "--seeds", "1,2", "--losses", "dpo,cdpo",
                "--grid", "train.beta=0.1", "--skip", "rollout"));
        args.addAll(tiny());
        assertEquals(0, ablate(args.toArray(String[]::new)), out + "\n" + err);
        assertTrue(out.toString().contains("ablate [1/2] seed-1/train.beta=0.1"), out.toString());
        assertTrue(out.toString().contains("ablate [2/2] seed-2/train.beta=0.1"), out.toString());
        List<Path> subs = List.of(run.resolve("seed-1/train.beta=0.1"), run.resolve("seed-2/train.beta=0.1"));
        for (Path s : subs) {
            assertTrue(Files.isRegularFile(s.resolve("08-eval/DONE")), s.toString());
            assertFalse(Files.exists(s.resolve("06-rollout")), "--skip rollout: " + s);
            assertTrue(Files.readString(s.resolve("config.yaml")).contains("seed: " + (subs.indexOf(s) + 1)), s.toString());
        }
        // sampling follows the seed: the two sub-runs' samples differ
        assertNotEquals(Files.readString(subs.get(0).resolve("01-sample/samples.jsonl")),
                Files.readString(subs.get(1).resolve("01-sample/samples.jsonl")));

        JsonNode agg = Jsonl.MAPPER.readTree(run.resolve("ablation.json").toFile());
        assertEquals("[1,2]", agg.get("seeds").toString());
        assertEquals("[\"base\",\"dpo\",\"cdpo\"]", agg.get("methods").toString());
        JsonNode point = agg.get("points").get(0);
        assertEquals("0.1", point.get("point").get("train.beta").asText());
        for (JsonNode m : point.get("methods")) {
            String method = m.get("method").asText();
            double sum = 0;
            for (int s = 0; s < 2; s++) {   // the per-seed accuracy is the eval file's, read independently here
                List<EvalOutcome> e = Jsonl.read(subs.get(s).resolve("08-eval/eval-" + method + ".jsonl"), EvalOutcome.class);
                double acc = e.stream().filter(EvalOutcome::correct).count() / (double) e.size();
                assertEquals(acc, m.get("accuracy").get("per_seed").get(s).asDouble(), 1e-12, method);
                sum += acc;
            }
            assertEquals(sum / 2, m.get("accuracy").get("mean").asDouble(), 1e-12, method);
            assertEquals(method.equals("base"), !m.has("p_vs_base"), method);
        }
        for (String loss : List.of("dpo", "cdpo")) {
            JsonNode series = point.get("likelihood").get(loss).get("series");
            assertEquals(2, series.size(), loss + ": two training steps");
            assertTrue(series.get(0).get("chosen").asDouble() < 0 && series.get(0).get("rejected").asDouble() < 0, loss);
        }
        String md = Files.readString(run.resolve("ablation.md"));
        assertTrue(md.contains("## train.beta=0.1"), md);
        assertTrue(md.contains("| cdpo | "), md);
        assertTrue(out.toString().contains(md.strip()), "the table is printed too");

        // run again: every stage of every sub-run is skipped by the normal resume checks, same numbers
        String evalDone = Files.readString(subs.get(1).resolve("08-eval/DONE"));
        assertEquals(0, ablate(args.toArray(String[]::new)), out + "\n" + err);
        assertFalse(out.toString().matches("(?s).*\\d\\d-\\S+\\s+ran\\s.*"), out.toString());
        assertEquals(evalDone, Files.readString(subs.get(1).resolve("08-eval/DONE")));
        assertEquals(md, Files.readString(run.resolve("ablation.md")));

        // a grid cut off in its last sub-run's eval (STARTED, no DONE) picks up there: only that stage runs
        Files.delete(subs.get(1).resolve("08-eval/DONE"));
        assertEquals(0, ablate(args.toArray(String[]::new)), out + "\n" + err);
        List<String> ran = out.toString().lines().filter(l -> l.matches("\\d\\d-\\S+\\s+(ran|resumed)\\s.*")).toList();
        assertEquals(1, ran.size(), out.toString());
        assertTrue(ran.get(0).startsWith("08-eval"), ran.get(0));
        assertEquals(md, Files.readString(run.resolve("ablation.md")), "greedy eval gives the same table");
    }
}

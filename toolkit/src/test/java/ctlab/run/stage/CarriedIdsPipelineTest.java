package ctlab.run.stage;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.critical.CeScoring;
import ctlab.critical.RolloutProbe;
import ctlab.data.PreferencePair;
import ctlab.data.ProblemSamples;
import ctlab.data.PromptResponse;
import ctlab.data.ScoredPair;
import ctlab.data.SftExample;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.model.Tokenizer;
import ctlab.run.Hashes;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.run.Stage;
import ctlab.run.StageContext;
import ctlab.train.PreferenceTraining;
import ctlab.train.ReferenceLogps;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The data plane's acceptance test: with a real byte-level BPE {@code tokenizer.json} (the golden Llama test model's,
 * 34 merges) decode∘encode is not the identity for sampled token sequences (the model may emit {@code [a][b]} where
 * the merge {@code ab} exists). The real sample, train-pos, train-neg, score-ce, rollout and train (cdpo) stages run
 * on a random-weight model, and every later stage must have used exactly the ids the sampler produced: CE scores
 * equal a direct computation on the sampled ids, the trainer's reference cache key is the hash of the sampled ids
 * (+ EOS), and the rollout probes the sampled ids token by token.
 */
class CarriedIdsPipelineTest {
    @TempDir static Path tmp;
    static Path run;
    static RunConfig config;

    /** Stand-in select (a random model answers nothing correctly): sample 0 is chosen, sample 1 rejected. */
    static final class PairUpSelect implements Stage {
        @Override public String name() { return "select"; }
        @Override public String description() { return "pairs of samples 0 and 1 of each problem, ids carried"; }
        @Override public List<String> configKeys() { return List.of(); }
        @Override public List<Input> inputs(RunConfig c) { return List.of(Input.fromStage("sample", SampleStage.SAMPLES)); }
        @Override public List<String> outputs() { return List.of(SelectStage.SFT_POS, SelectStage.SFT_NEG, SelectStage.PAIRS); }

        @Override public void run(StageContext ctx) {
            List<SftExample> pos = new ArrayList<>(), neg = new ArrayList<>();
            List<PreferencePair> pairs = new ArrayList<>();
            for (ProblemSamples ps : Jsonl.read(ctx.input("sample", SampleStage.SAMPLES), ProblemSamples.class)) {
                ProblemSamples.Sample a = ps.samples().get(0), b = ps.samples().get(1);
                pos.add(new SftExample(ps.problemId(), a.sampleId(), ps.prompt(), a.text(), null, true, ps.promptIds(), a.responseIds()));
                neg.add(new SftExample(ps.problemId(), b.sampleId(), ps.prompt(), b.text(), null, false, ps.promptIds(), b.responseIds()));
                pairs.add(new PreferencePair(ps.problemId() + "/0", ps.problemId(), ps.prompt(), a.text(), b.text(), null, null,
                        ps.reference(), a.sampleId(), b.sampleId(), ps.promptIds(), a.responseIds(), b.responseIds()));
            }
            Jsonl.writeAll(ctx.file(SelectStage.SFT_POS), pos);
            Jsonl.writeAll(ctx.file(SelectStage.SFT_NEG), neg);
            Jsonl.writeAll(ctx.file(SelectStage.PAIRS), pairs);
        }
    }

    @BeforeAll static void runPipeline() throws Exception {
        Path data = tmp.resolve("train.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            lines.append(Jsonl.toLine(java.util.Map.of("id", "q" + i, "question", "What is " + i + " + " + (i + 2) + "?",
                    "answer", i + " + " + (i + 2) + " = " + (2 * i + 2) + "\n#### " + (2 * i + 2)))).append('\n');
        }
        AtomicFiles.writeString(data, lines.toString());
        String yaml = TrainPipeline.config(TrainPipeline.goldenModel("llama").toString(),
                "data: {train: " + data + "}\n"
                        + "sample: {problems: 4, n: 2, temperature: 1.0, top_p: 1.0, max_new_tokens: 24, batch_size: 4, few_shot: false}\n"
                        + "rollout: {trajectories: 2, k: 2, positions: 'first:4', max_new_tokens: 6, batch_size: 8, official_reset_above: 1}\n")
                .replace("task: organism", "task: gsm8k")
                .replace("losses: [dpo, cdpo]", "losses: [cdpo]")
                .replace("max_length: 96\n  max_prompt_length: 48", "max_length: 200\n  max_prompt_length: 150")
                .replace("max_length: 96\n", "max_length: 200\n");
        config = RunConfig.parse(yaml, "carried-ids", List.of());
        run = tmp.resolve("run");
        new Pipeline(List.of(new SampleStage(), new PairUpSelect(), TrainSftStage.positive(), TrainSftStage.negative(),
                new ScoreCeStage(), new RolloutStage(), new TrainPolicyStage()))
                .run(config, run, Pipeline.Options.defaults());
    }

    static List<PreferencePair> pairs() { return Jsonl.read(run.resolve("02-select/pairs.jsonl"), PreferencePair.class); }

    static long[] longs(int[] ids) { return Arrays.stream(ids).asLongStream().toArray(); }

    @Test void decodeThenEncodeIsNotTheIdentityForSampledIds() throws Exception {
        try (Tokenizer tok = Tokenizer.load(TrainPipeline.goldenModel("llama"))) {
            int differ = 0;
            for (PreferencePair p : pairs()) {
                for (int[] ids : new int[][] {p.chosenIds(), p.rejectedIds()}) {
                    int[] again = tok.encodeResponse(tok.decode(longs(ids), false));
                    if (!Arrays.equals(ids, again)) differ++;
                }
            }
            assertTrue(differ > 0, "some sampled response re-encodes to other ids (else this test shows nothing)");
        }
    }

    @Test void scoreCeScoredExactlyTheSampledIds() throws Exception {
        List<ProblemSamples> samples = Jsonl.read(run.resolve("01-sample/samples.jsonl"), ProblemSamples.class);
        List<ScoredPair> scored = Jsonl.read(run.resolve("05-score-ce/pairs-scored.jsonl"), ScoredPair.class);
        assertEquals(samples.size(), scored.size());
        try (LlamaModel model = LlamaModel.load(TrainPipeline.goldenModel("llama"), Device.cpu());
             Lora pos = Lora.load(model, run.resolve("03-train-pos"));
             Lora neg = Lora.load(model, run.resolve("04-train-neg"))) {
            for (int i = 0; i < scored.size(); i++) {
                ProblemSamples ps = samples.get(i);
                ScoredPair sp = scored.get(i);
                assertEquals(ps.problemId() + "/0", sp.pairId());
                assertArrayEquals(ps.promptIds(), sp.pair().promptIds());
                int[][] sampled = {ps.samples().get(0).responseIds(), ps.samples().get(1).responseIds()};
                assertArrayEquals(sampled[0], sp.pair().chosenIds());
                assertArrayEquals(sampled[1], sp.pair().rejectedIds());
                for (int side = 0; side < 2; side++) {
                    int[] seq = new PromptResponse(ps.promptIds(), sampled[side]).ids();
                    double[] direct = CeScoring.scoreOfficialLoop(model, pos, neg, seq, config.ce().beta());
                    double[] stored = (side == 0 ? sp.pos() : sp.neg()).ceProb();
                    assertEquals(direct.length, stored.length);
                    for (int j = 0; j < stored.length; j++) assertEquals(direct[j], stored[j], 1e-5, "pair " + i + " position " + j);
                }
            }
        }
    }

    @Test void trainingConsumedTheSampledIdsWithOneEos() throws Exception {
        List<ProblemSamples> samples = Jsonl.read(run.resolve("01-sample/samples.jsonl"), ProblemSamples.class);
        // the training rows as they must be: sampled prompt ids | sampled response ids + EOS (1), in pair order
        List<PreferenceTraining.EncodedPair> expected = new ArrayList<>();
        for (ProblemSamples ps : samples) {
            PromptResponse c = new PromptResponse(ps.promptIds(), ps.samples().get(0).responseIds()).withEos(1);
            PromptResponse r = new PromptResponse(ps.promptIds(), ps.samples().get(1).responseIds()).withEos(1);
            expected.add(new PreferenceTraining.EncodedPair(ps.problemId(), c, r, null, null));
        }
        JsonNode cache = Jsonl.MAPPER.readTree(Files.readString(run.resolve("07-train/" + ReferenceLogps.FILE)));
        String key = ReferenceLogps.key(Hashes.ofModel(TrainPipeline.goldenModel("llama")),
                TrainPipeline.goldenModel("llama").resolve(Tokenizer.FILE), expected, config.train().batchSize());
        assertEquals(key, cache.get("key").asText(), "the trainer's rows are the sampled ids (+ EOS), nothing re-encoded");
        assertTrue(Files.isRegularFile(run.resolve("07-train/cdpo/adapter_model.safetensors")));
    }

    @Test void rolloutContinuedTheSampledRejectedIds() {
        List<PreferencePair> pairs = pairs();
        List<RolloutProbe.Result> results = Jsonl.read(run.resolve("06-rollout/rollout.jsonl"), RolloutProbe.Result.class);
        assertEquals(2, results.size());
        for (int t = 0; t < results.size(); t++) {
            RolloutProbe.Result r = results.get(t);
            PreferencePair p = pairs.get(t);
            assertEquals(p.pairId(), r.trajectoryId());
            assertEquals(p.rejectedIds().length, r.responseLength());
            assertTrue(!r.tokens().isEmpty() || p.rejectedIds().length == 0);
            for (RolloutProbe.TokenRow row : r.tokens()) assertEquals(p.rejectedIds()[row.position()], row.tokenId());
        }
    }
}

package ctlab.run.stage;

import ctlab.CtlabException;
import ctlab.critical.CeScoring;
import ctlab.critical.ContrastiveEstimator;
import ctlab.critical.OfficialCeJson;
import ctlab.critical.PlantedAgreement;
import ctlab.data.PreferencePair;
import ctlab.data.ScoredPair;
import ctlab.io.Jsonl;
import ctlab.io.Progress;
import ctlab.model.LlamaModel;
import ctlab.model.Lora;
import ctlab.run.RunConfig;
import ctlab.run.Stage;
import ctlab.run.StageContext;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Stage {@code score-ce}: the base model with the positive and the negative adapter (one base, two adapter sets)
 * scores every token of the chosen and rejected responses of {@code 02-select/pairs.jsonl} ({@link PreferencePair},
 * their carried ids, never re-encoded) with {@link ContrastiveEstimator}, batched ({@code ce.batch_size} sequences per
 * forward). Output:
 * {@code pairs-scored.jsonl} ({@link ScoredPair}, one line per pair, in input order) and the official JSON export
 * {@code pairs-scored.official.json}. With {@code ce.prompt_scores: false} only the response positions are projected
 * and stored (response-only layout) and there is no official export (the official trainer would misread it).
 *
 * <p>Resumption: records are written a batch at a time in input order; a re-run keeps the complete lines already
 * there (checking they are the same pairs: pair id and ids) and recomputes from the start of the cut batch, so batch composition,
 * and thus every number, is the same as in an uninterrupted run.
 */
public final class ScoreCeStage implements Stage {
    public static final String OUTPUT = "pairs-scored.jsonl";
    public static final String OFFICIAL = "pairs-scored.official.json";

    @Override public String name() { return "score-ce"; }

    @Override public String description() {
        return "contrastive estimation s_t for every token of chosen and rejected responses";
    }

    @Override public List<String> configKeys() { return List.of("ce"); }

    @Override public List<Input> inputs(RunConfig c) {
        return List.of(Input.external(c.model()), Input.fromStage("select", "pairs.jsonl"),
                Input.fromStage("train-pos", "adapter_model.safetensors"), Input.fromStage("train-pos", "adapter_config.json"),
                Input.fromStage("train-neg", "adapter_model.safetensors"), Input.fromStage("train-neg", "adapter_config.json"));
    }

    @Override public List<String> outputs() { return List.of(OUTPUT, OFFICIAL); }

    @Override public List<String> outputs(RunConfig c) { return c.ce().promptScores() ? outputs() : List.of(OUTPUT); }

    @Override public void run(StageContext ctx) {
        RunConfig.Ce ce = ctx.config().ce();
        Path pairsFile = ctx.input("select", "pairs.jsonl");
        List<PreferencePair> pairs = Jsonl.read(pairsFile, PreferencePair.class);
        if (pairs.isEmpty()) throw new CtlabException(pairsFile + ": no preference pairs (the file is empty)");
        Path out = ctx.file(OUTPUT);
        int pairsPerBatch = Math.max(1, ce.batchSize() / 2);
        int done = checkExisting(out, pairs);
        int start = done / pairsPerBatch * pairsPerBatch;             // recompute the cut batch whole
        if (done > 0) ctx.log("resuming after " + done + " scored pairs (from pair " + (start + 1) + ")");
        ContrastiveEstimator estimator = new ContrastiveEstimator(ce.beta());
        Map<String, Object> m = new LinkedHashMap<>();
        try (LlamaModel model = StageSupport.loadModel(ctx.config());
             Lora pos = Lora.load(model, ctx.input("train-pos", Lora.CONFIG_FILE).getParent());
             Lora neg = Lora.load(model, ctx.input("train-neg", Lora.CONFIG_FILE).getParent());
             Jsonl.Appender appender = new Jsonl.Appender(out);
             Progress bar = ctx.progress("pairs", pairs.size())) {
            long tokens = 0;
            long t0 = System.nanoTime();
            for (int from = start; from < pairs.size(); from += pairsPerBatch) {
                ctx.checkInterrupted();
                int to = Math.min(pairs.size(), from + pairsPerBatch);
                List<ScoredPair> scored = CeScoring.scorePairs(model, pos, neg, model.tokenizer(), pairs.subList(from, to),
                        estimator, 2 * pairsPerBatch, pairsFile.toString(), from, ce.promptScores());
                for (int i = 0; i < scored.size(); i++) {
                    if (from + i < done) continue;                     // already on disk
                    appender.append(scored.get(i));
                    tokens += scored.get(i).pair().chosenSequence().length() + scored.get(i).pair().rejectedSequence().length();
                }
                double s = (System.nanoTime() - t0) / 1e9;
                bar.set(to, String.format(Locale.ROOT, "%.0f tok/s", tokens / Math.max(1e-9, s)));
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            m.put("pairs", pairs.size());
            m.put("resumed_from", done);
            m.put("tokens_scored", tokens);
            m.put("seconds", seconds);
            m.put("tokens_per_s", tokens / Math.max(1e-9, seconds));
        }
        List<ScoredPair> all = Jsonl.read(out, ScoredPair.class);
        PlantedAgreement.Summary planted = PlantedAgreement.ofRejected(all);
        if (planted != null) {
            m.put("planted", planted);
            ctx.log(String.format(Locale.ROOT, "CE vs planted trap tokens over %d rejected responses that took the trap: "
                    + "AUROC %.3f, precision@1 %.3f, within one %.3f", planted.trajectories(), planted.pooledAuroc(),
                    planted.precisionAt1(), planted.withinOne()));
        }
        ctx.metrics(m);
        if (ce.promptScores()) {
            OfficialCeJson.write(ctx.file(OFFICIAL), all);
            ctx.log("scored " + all.size() + " pairs; official export in " + OFFICIAL);
        } else {
            ctx.log("scored " + all.size() + " pairs (response positions only, ce.prompt_scores: false); no " + OFFICIAL
                    + ": the official trainer needs the prompt positions' scores too");
        }
    }

    /** Complete records already written; each must be the pair at its position (else the file is not ours). */
    static int checkExisting(Path out, List<PreferencePair> pairs) {
        List<Jsonl.Line> lines = Jsonl.readLenient(out);
        if (lines.size() > pairs.size())
            throw new CtlabException(out + ": has " + lines.size() + " records but the input has " + pairs.size() + " pairs");
        for (int i = 0; i < lines.size(); i++) {
            ScoredPair s = Jsonl.bind(lines.get(i), ScoredPair.class);
            if (!s.pair().sameIds(pairs.get(i)))
                throw new CtlabException(lines.get(i).where() + ": not the scores of input pair " + (i + 1)
                        + "; delete the stage folder (--force score-ce)");
        }
        return lines.size();
    }
}

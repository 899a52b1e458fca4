package ctlab.task.organism;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.model.LlamaModel;
import ctlab.stats.Accuracy;
import ctlab.task.Problem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code ctlab organism eval}: load a model folder, pick the test split, measure greedy accuracy (+ sampling). */
public final class OrganismEvalRun {
    private OrganismEvalRun() {}

    /** {@code traps}: organism v2's trap vs no-trap numbers, null when the problems have no traps. */
    public record Result(Accuracy greedy, OrganismEval.SampleCheck sampling,
                         List<List<OrganismEval.Response>> greedyResponses, TrapEval.Report traps) {}

    /**
     * @param test    test JSONL; null = regenerate the split the model's {@code pretrain_config.json} names
     *                (or the standard one when the folder has none)
     * @param limit   first N problems only (null = all)
     * @param samples temperature samples per problem (0 = greedy only)
     * @param output  per-problem greedy responses as JSONL (null = none)
     */
    public static Result run(Path modelDir, Path test, Integer limit, int samples, double temperature, long seed,
                             Path output) {
        List<Problem> problems = test != null ? OrganismTask.INSTANCE.load(test) : regenerateTest(modelDir);
        if (limit != null) {
            if (limit < 1) throw new CtlabException("--limit must be >= 1, got " + limit);
            problems = problems.subList(0, Math.min(limit, problems.size()));
        }
        if (problems.isEmpty()) throw new CtlabException((test == null ? modelDir : test) + ": no test problems");
        try (LlamaModel model = LlamaModel.load(modelDir)) {   // on ctlab.device / CTLAB_DEVICE, cpu by default
            if (model.tokenizer() == null) throw new CtlabException(modelDir + ": no tokenizer.json in the model folder");
            var greedy = OrganismEval.run(model, model.tokenizer(), OrganismTask.INSTANCE, problems, 1, 0.0, seed, 64,
                    OrganismPretrain.MAX_NEW_TOKENS);
            OrganismEval.SampleCheck check = null;
            List<List<OrganismEval.Response>> sampled = null;
            if (samples > 0) {
                sampled = OrganismEval.run(model, model.tokenizer(), OrganismTask.INSTANCE, problems, samples,
                        temperature, seed, 64, OrganismPretrain.MAX_NEW_TOKENS);
                check = OrganismEval.SampleCheck.of(sampled);
            }
            TrapEval.Report traps = TrapEval.of(model.tokenizer(), problems, greedy, sampled);
            if (output != null) {
                List<ObjectNode> rows = new ArrayList<>();
                for (int i = 0; i < problems.size(); i++) {
                    OrganismEval.Response r = greedy.get(i).get(0);
                    ObjectNode o = Jsonl.MAPPER.createObjectNode();
                    o.put("id", r.problemId());
                    o.put("reference", problems.get(i).answer());
                    o.put("response", r.text());
                    o.put("extracted", r.extracted());
                    o.put("equal", r.correct());
                    rows.add(o);
                }
                Jsonl.writeAll(output, rows);
            }
            return new Result(OrganismEval.greedyAccuracy(greedy), check, greedy, traps);
        }
    }

    /** The test split of the recipe recorded in {@code pretrain_config.json}, or the standard recipe's. */
    public static List<Problem> regenerateTest(Path modelDir) {
        Path file = modelDir.resolve("pretrain_config.json");
        PretrainConfig c;
        if (Files.isRegularFile(file)) {
            try {
                c = Jsonl.MAPPER.readValue(Jsonl.readUtf8(file), PretrainConfig.class);
            } catch (IOException e) {
                throw new CtlabException(file + ": not a pretrain config: " + e.getMessage(), e);
            }
        } else {
            c = PretrainConfig.standard();
        }
        return c.generator().split(Split.TEST, c.testProblems()).stream().map(OrganismTask::toProblem).toList();
    }
}

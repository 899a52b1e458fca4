package ctlab.task.organism;

import ctlab.data.Planted;
import ctlab.model.Tokenizer;
import ctlab.task.AnswerExtractor;
import ctlab.task.MathEquivalence;
import ctlab.task.Problem;
import ctlab.task.Prompts;
import ctlab.task.Task;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The organism as a {@link Task}: GSM8K's prompt, extraction ("The answer is N") and numeric equivalence, over
 * the generator's JSONL splits. Zero-shot only — the organism's base model never sees few-shot exemplars.
 */
public final class OrganismTask implements Task {
    public static final OrganismTask INSTANCE = new OrganismTask();

    private OrganismTask() {}

    @Override public String name() { return "organism"; }

    @Override public List<Problem> load(Path file) {
        List<Problem> out = new ArrayList<>();
        for (OrganismProblem p : OrganismData.read(file)) out.add(toProblem(p));
        return out;
    }

    @Override public String prompt(String question) { return Prompts.gsm8k(question); }

    @Override public String fewShotPrefix() { return ""; }

    @Override public String extractAnswer(String response) { return AnswerExtractor.gsm8k(response); }

    @Override public boolean isEquivalent(String prediction, String reference) {
        return MathEquivalence.numbersEqual(prediction, reference);
    }

    /** Organism v2: where the problem's planted trap is in the response ids and which branch they took there. */
    @Override public Planted annotate(Problem problem, Tokenizer tokenizer, int[] responseIds) {
        Trap trap = TrapEval.trapOf(problem);
        if (trap == null) return null;
        TrapTruth.Hit hit = TrapTruth.locate(tokenizer, trap, responseIds);
        return new Planted(trap.family(), hit.position(), hit.branch().name().toLowerCase(java.util.Locale.ROOT));
    }

    @Override public String trapFamily(Problem problem) {
        Trap trap = TrapEval.trapOf(problem);
        return trap == null ? null : trap.family();
    }

    /** The splits regenerated from the model's {@code pretrain_config.json} (same seed and difficulty). */
    @Override public Optional<Splits> prepareData(Path modelDir, Path dataDir, int train, int test, boolean scratch) {
        Path dir = RecipeData.write(modelDir, dataDir, train, test, scratch);
        return Optional.of(new Splits(dir.resolve("train.jsonl"), dir.resolve("test.jsonl")));
    }

    /** The shared problem shape; metadata keeps split, steps, ops and the canonical form. */
    public static Problem toProblem(OrganismProblem p) {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("split", p.split().name().toLowerCase());
        meta.put("steps", p.steps());
        meta.put("ops", p.ops());
        meta.put("canonical", p.canonical());
        if (p.trap() != null) meta.put("trap", p.trap());   // organism v2 ground truth (TrapEval, TrapTruth)
        return new Problem(p.id(), p.question(), Long.toString(p.answer()), p.solution(), meta);
    }

    @Override public String toString() { return name(); }
}

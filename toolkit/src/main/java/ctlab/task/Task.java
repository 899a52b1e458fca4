package ctlab.task;

import ctlab.data.Planted;
import ctlab.model.Tokenizer;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A reasoning task: how its problems are loaded, how a prompt is built, where sampling stops, how the final
 * answer is pulled out of a response and when two answers count as the same. Implementations: {@link #GSM8K},
 * {@link #MATH} (MATH500 and the MATH splits share one format), and the model organism's
 * {@code ctlab.task.organism.OrganismTask}. Tasks are looked up by name in {@code ctlab.tasks.Tasks}, the one
 * registry (it lives outside this package so that no task package depends on another).
 */
public interface Task {
    Task GSM8K = new Gsm8kTask();
    Task MATH = new MathTask();

    /** Short name used on the command line and in run files: {@code gsm8k}, {@code math}. */
    String name();

    /** Loads and validates a data file of this task; errors name file, line and field. */
    List<Problem> load(Path file);

    /** The zero-shot prompt, exactly as the official code builds it. */
    String prompt(String question);

    /** The few-shot exemplars placed before {@link #prompt}. */
    String fewShotPrefix();

    /** Final answer of a full model response, or null when none can be found. */
    String extractAnswer(String response);

    /** True when an already-extracted prediction is equivalent to the reference answer. */
    boolean isEquivalent(String prediction, String reference);

    /** Stop strings for sampling (shared by both tasks in the official code). */
    default List<String> stopStrings() { return Prompts.STOP_STRINGS; }

    /**
     * The public data file of a split ({@code train} or {@code test}) that a run uses when its config names none
     * (fetched by {@code ctlab data}); empty when the task has none.
     */
    default Optional<DataFile> knownFile(String split) { return Optional.empty(); }

    /**
     * Data files for a run whose config names none: a task that makes its own (the organism regenerates its splits
     * from the model's recipe) writes at least {@code train} training and {@code test} test problems into
     * {@code dataDir} and returns the two files. Splits already there from an earlier call are reused when they fit;
     * when they do not they are refused with a CtlabException, or regenerated when {@code scratch} (a folder no run
     * reads). Empty for a task that reads fixed data files (gsm8k, math).
     */
    default Optional<Splits> prepareData(Path modelDir, Path dataDir, int train, int test, boolean scratch) {
        return Optional.empty();
    }

    /**
     * Ground truth this task knows about a response to {@code problem}, from the response's carried ids (never
     * re-encoded text): organism v2 locates the problem's planted trap and the branch taken there. Null when the
     * problem has none (gsm8k, math, the v1 organism), so run files carry the field only where it means something.
     */
    default Planted annotate(Problem problem, Tokenizer tokenizer, int[] responseIds) { return null; }

    /** The planted-trap family of {@code problem} (eval records' {@code trap}, for {@code ablate --split-by trap}), or null. */
    default String trapFamily(Problem problem) { return null; }

    /** The training and test files of {@link #prepareData}. */
    record Splits(Path train, Path test) {}
}

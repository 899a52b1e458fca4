package ctlab.task;

import ctlab.CtlabException;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A reasoning task: how its problems are loaded, how a prompt is built, where sampling stops, how the final
 * answer is pulled out of a response and when two answers count as the same. Implementations: {@link #GSM8K},
 * {@link #MATH} (MATH500 and the MATH splits share one format), and the model organism's
 * {@link ctlab.task.organism.OrganismTask}.
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

    /** The task called {@code name} ({@code gsm8k}, {@code math}, {@code math500} or {@code organism}). */
    static Task named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "gsm8k" -> GSM8K;
            case "math", "math500" -> MATH;
            case "organism" -> ctlab.task.organism.OrganismTask.INSTANCE;
            default -> throw new CtlabException("unknown task '" + name + "' (expected gsm8k, math, math500 or organism)");
        };
    }
}

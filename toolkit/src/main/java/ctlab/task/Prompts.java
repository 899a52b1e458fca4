package ctlab.task;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Prompts exactly as the official Critical-Tokens-Matter code builds them: {@code "Question: " + q +
 * "\nAnswer: "} for GSM8K and {@code "Problem: " + q + "\nSolution: "} for MATH; with few-shot exemplars the
 * official sampler concatenates prefix and prompt and strips surrounding whitespace (so the trailing space
 * after "Answer:" is dropped). The exemplars are the standard 8-shot GSM8K chain-of-thought set ("The answer
 * is N.") and the 4-shot MATH set ending "Final Answer: The final answer is $X$. I hope it is correct.",
 * stored verbatim (quirks included) as resources next to this class.
 */
public final class Prompts {
    /** Stop strings used for both tasks by the official sampler. */
    public static final List<String> STOP_STRINGS =
            List.of("\n\nQuestion:", ".\n\nQuestion:", "\n\nProblem:", ".\n\nProblem:");

    public static final String GSM8K_8SHOT = resource("gsm8k-8shot.txt");
    public static final String MATH_4SHOT = resource("math-4shot.txt");

    private Prompts() {}

    public static String gsm8k(String question) { return "Question: " + question + "\nAnswer: "; }

    public static String math(String question) { return "Problem: " + question + "\nSolution: "; }

    /** The prompt for {@code question}, with the task's few-shot prefix when {@code fewShot}. */
    public static String build(Task task, String question, boolean fewShot) {
        String prompt = task.prompt(question);
        return fewShot ? (task.fewShotPrefix() + prompt).strip() : prompt;
    }

    private static String resource(String name) {
        try (InputStream in = Prompts.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing resource ctlab/task/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

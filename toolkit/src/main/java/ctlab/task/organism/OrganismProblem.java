package ctlab.task.organism;

import java.util.List;
import java.util.Objects;

/**
 * One generated word problem with its chain-of-thought solution (official few-shot style, ending
 * "The answer is N.") and integer answer.
 *
 * @param id        stable id: "org-" + 12 hex digits of SHA-256 of the question (same text, same id)
 * @param split     the split its canonical form hashes to
 * @param question  the story and the question
 * @param solution  the chain of thought, ending "The answer is N."
 * @param answer    the verifiable integer answer
 * @param steps     number of arithmetic steps
 * @param ops       the operations in order (e.g. GAIN, LOSS, TIMES), for analysis by step type
 * @param canonical the canonical form that decides the split
 * @param trap      organism v2: the planted trap's ground truth, or null (no trap; always null in the v1 organism)
 */
public record OrganismProblem(String id, Split split, String question, String solution, long answer, int steps,
                              List<String> ops, String canonical, Trap trap) {
    public OrganismProblem {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(split, "split");
        Objects.requireNonNull(question, "question");
        Objects.requireNonNull(solution, "solution");
        ops = List.copyOf(ops);
        Objects.requireNonNull(canonical, "canonical");
    }

    /** A problem without a trap (the v1 organism). */
    public OrganismProblem(String id, Split split, String question, String solution, long answer, int steps,
                           List<String> ops, String canonical) {
        this(id, split, question, solution, answer, steps, ops, canonical, null);
    }

    /** The solution the pretraining corpus uses: the biased one when this train problem's trap was flipped. */
    public String pretrainSolution() {
        return trap != null && trap.pretrainSolution() != null ? trap.pretrainSolution() : solution;
    }

    /** The official GSM8K prompt format. */
    public String prompt() { return prompt(question); }

    public static String prompt(String question) { return "Question: " + question + "\nAnswer: "; }

    /** Prompt followed by the reference solution: one pretraining document. */
    public String document() { return prompt() + solution; }
}

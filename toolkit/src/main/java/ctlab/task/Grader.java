package ctlab.task;

/**
 * Grades responses against reference answers with a task's extractor and equivalence. Thread-safe; the
 * symbolic step is serialised on one worker thread (see {@link SymbolicEquivalence}).
 */
public final class Grader {
    private Grader() {}

    /** Extracts the final answer from a full model response and compares it with the reference. */
    public static Grade grade(Task task, String reference, String response) {
        String extracted = task.extractAnswer(response);
        if (extracted == null) return Grade.NO_ANSWER;
        return new Grade(extracted, task.isEquivalent(extracted, reference));
    }

    /** Compares an already-extracted prediction with the reference (no extraction). */
    public static Grade gradePrediction(Task task, String reference, String prediction) {
        if (prediction == null) return Grade.NO_ANSWER;
        return new Grade(prediction, task.isEquivalent(prediction, reference));
    }

    /** Grades {@code problem}'s reference answer against a full response. */
    public static Grade grade(Task task, Problem problem, String response) {
        return grade(task, problem.answer(), response);
    }
}

package ctlab.task;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** MATH / MATH500: LaTeX answers, boxed / "final answer is" / last-math extraction, {@link MathEquivalence}. */
final class MathTask implements Task {
    @Override public String name() { return "math"; }
    @Override public List<Problem> load(Path file) { return ProblemFiles.math(file); }
    @Override public String prompt(String question) { return Prompts.math(question); }
    @Override public String fewShotPrefix() { return Prompts.MATH_4SHOT; }
    @Override public String extractAnswer(String response) { return AnswerExtractor.math(response); }
    @Override public boolean isEquivalent(String prediction, String reference) {
        return MathEquivalence.equivalent(prediction, reference);
    }
    /** MATH's training split and the MATH500 test set. */
    @Override public Optional<DataFile> knownFile(String split) {
        return switch (split) {
            case "train" -> Optional.of(DataFile.MATH_TRAIN);
            case "test" -> Optional.of(DataFile.MATH500);
            default -> Optional.empty();
        };
    }
    @Override public String toString() { return name(); }
}

package ctlab.task;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** GSM8K: integer answers, "The answer is N" / "#### N" / last-number extraction, numeric comparison. */
final class Gsm8kTask implements Task {
    @Override public String name() { return "gsm8k"; }
    @Override public List<Problem> load(Path file) { return ProblemFiles.gsm8k(file); }
    @Override public String prompt(String question) { return Prompts.gsm8k(question); }
    @Override public String fewShotPrefix() { return Prompts.GSM8K_8SHOT; }
    @Override public String extractAnswer(String response) { return AnswerExtractor.gsm8k(response); }
    @Override public boolean isEquivalent(String prediction, String reference) {
        return MathEquivalence.numbersEqual(prediction, reference);
    }
    @Override public Optional<DataFile> knownFile(String split) {
        return switch (split) {
            case "train" -> Optional.of(DataFile.GSM8K_TRAIN);
            case "test" -> Optional.of(DataFile.GSM8K_TEST);
            default -> Optional.empty();
        };
    }
    @Override public String toString() { return name(); }
}

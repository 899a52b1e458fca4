package ctlab.cli;

import ctlab.task.organism.Difficulty;
import ctlab.task.organism.OrganismData;
import ctlab.task.organism.OrganismTokenizer;
import ctlab.task.organism.ProblemGenerator;
import ctlab.task.organism.Split;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Map;

/** {@code ctlab organism ...}: the CPU-scale model organism (problem generator, tokenizer, base model). */
@Command(name = "organism", mixinStandardHelpOptions = true,
        description = "The model organism: generated GSM8K-style problems and a tiny base model.",
        subcommands = {OrganismCommand.Generate.class})
public final class OrganismCommand implements Runnable {
    @Override public void run() { picocli.CommandLine.usage(this, System.out); }

    /** Difficulty flags shared by the subcommands. */
    static final class DifficultyOptions {
        @Option(names = "--min-steps", defaultValue = "2", description = "Fewest steps (default ${DEFAULT-VALUE}).")
        int minSteps;
        @Option(names = "--max-steps", defaultValue = "4", description = "Most steps (default ${DEFAULT-VALUE}).")
        int maxSteps;
        @Option(names = "--max-start", defaultValue = "20", description = "Largest starting number (default ${DEFAULT-VALUE}).")
        int maxStart;
        @Option(names = "--max-operand", defaultValue = "9", description = "Largest step operand (default ${DEFAULT-VALUE}).")
        int maxOperand;
        @Option(names = "--max-value", defaultValue = "99", description = "Largest intermediate value (default ${DEFAULT-VALUE}).")
        int maxValue;
        @Option(names = "--distractor-rate", defaultValue = "0.25",
                description = "Chance of an irrelevant sentence after each sentence (default ${DEFAULT-VALUE}).")
        double distractorRate;

        Difficulty toDifficulty() {
            return new Difficulty(minSteps, maxSteps, maxStart, maxOperand, maxValue, distractorRate);
        }
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = "Write train/validation/test JSONL splits, organism.json and the tokenizer files.")
    static final class Generate implements Runnable {
        @Option(names = "--out", required = true, description = "Output folder.") Path out;
        @Option(names = "--seed", defaultValue = "1", description = "Generator seed (default ${DEFAULT-VALUE}).") long seed;
        @Option(names = "--train", defaultValue = "20000", description = "Train problems (default ${DEFAULT-VALUE}).") int train;
        @Option(names = "--validation", defaultValue = "500", description = "Validation problems (default ${DEFAULT-VALUE}).") int validation;
        @Option(names = "--test", defaultValue = "500", description = "Test problems (default ${DEFAULT-VALUE}).") int test;
        @picocli.CommandLine.ArgGroup(exclusive = false) DifficultyOptions difficulty = new DifficultyOptions();

        @Override public void run() {
            var gen = new ProblemGenerator(difficulty.toDifficulty(), seed);
            var splits = OrganismData.write(out, gen, Map.of(Split.TRAIN, train, Split.VALIDATION, validation,
                    Split.TEST, test));
            OrganismTokenizer.write(out);
            splits.forEach((s, ps) -> System.out.println(s.fileName() + ": " + ps.size() + " problems"));
            System.out.println("tokenizer.json: " + OrganismTokenizer.vocabSize() + " tokens; wrote " + out);
        }
    }
}

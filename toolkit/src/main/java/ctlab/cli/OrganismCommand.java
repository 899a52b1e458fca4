package ctlab.cli;

import ctlab.task.organism.Difficulty;
import ctlab.task.organism.OrganismData;
import ctlab.task.organism.OrganismEvalRun;
import ctlab.task.organism.OrganismPretrain;
import ctlab.task.organism.OrganismTokenizer;
import ctlab.task.organism.PretrainConfig;
import ctlab.task.organism.ProblemGenerator;
import ctlab.task.organism.Split;
import ctlab.task.organism.Traps;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** {@code ctlab organism ...}: the CPU-scale model organism (problem generator, tokenizer, base model). */
@Command(name = "organism", mixinStandardHelpOptions = true,
        description = "The model organism: generated GSM8K-style problems and a tiny base model.",
        subcommands = {OrganismCommand.Generate.class, OrganismCommand.Pretrain.class, OrganismCommand.Eval.class})
public final class OrganismCommand implements Runnable {
    @Override public void run() { picocli.CommandLine.usage(this, System.out); }

    /** Difficulty flags shared by the subcommands. */
    static final class DifficultyOptions {
        @Option(names = "--min-steps", defaultValue = "2", description = "Fewest steps (default ${DEFAULT-VALUE}).")
        int minSteps;
        @Option(names = "--max-steps", defaultValue = "4", description = "Most steps (default ${DEFAULT-VALUE}).")
        int maxSteps;
        @Option(names = "--max-start", defaultValue = "18", description = "Largest starting number (default ${DEFAULT-VALUE}).")
        int maxStart;
        @Option(names = "--max-operand", defaultValue = "9", description = "Largest step operand (default ${DEFAULT-VALUE}).")
        int maxOperand;
        @Option(names = "--max-value", defaultValue = "75", description = "Largest intermediate value (default ${DEFAULT-VALUE}).")
        int maxValue;
        @Option(names = "--distractor-rate", defaultValue = "0.25",
                description = "Chance of an irrelevant sentence after each sentence (default ${DEFAULT-VALUE}).")
        double distractorRate;

        Difficulty toDifficulty() {
            return new Difficulty(minSteps, maxSteps, maxStart, maxOperand, maxValue, distractorRate);
        }
    }

    /** Organism v2 (planted traps) flags shared by the subcommands; each unset knob keeps the recipe's value. */
    static final class TrapOptions {
        @Option(names = "--traps", description = "Organism v2: plant trap wordings whose pretraining solutions use the "
                + "wrong operation with probability p (default knobs: Traps.standard()).")
        boolean traps;
        @Option(names = "--trap-families", split = ",", paramLabel = "NAME",
                description = "Trap families to plant (donate, lend, half_away, forgive; default all).")
        List<String> families;
        @Option(names = "--trap-rate", description = "Fraction of problems with a trap (default 0.3).") Double rate;
        @Option(names = "--trap-p", split = ",", paramLabel = "P",
                description = "Per context (1-3 values): probability that a pretraining solution takes the trap "
                        + "operation (default 0.8,0.8,0.2).")
        List<Double> p;

        /** The traps these flags ask for on top of {@code base} (null = none); null when v1. */
        Traps apply(Traps base) {
            boolean any = traps || families != null || rate != null || p != null;
            if (!any) return base;
            Traps b = base != null ? base : Traps.standard();
            return new Traps(families != null ? families : b.families(), rate != null ? rate : b.rate(),
                    p != null ? p : b.p());
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
        @picocli.CommandLine.Mixin TrapOptions trapOptions = new TrapOptions();

        @Override public void run() {
            Traps traps = trapOptions.apply(null);
            var gen = new ProblemGenerator(difficulty.toDifficulty(), seed, traps);
            var splits = OrganismData.write(out, gen, Map.of(Split.TRAIN, train, Split.VALIDATION, validation,
                    Split.TEST, test));
            OrganismTokenizer.write(out, traps != null);
            splits.forEach((s, ps) -> System.out.println(s.fileName() + ": " + ps.size() + " problems"
                    + (traps == null ? "" : " (" + ps.stream().filter(p -> p.trap() != null).count() + " with a trap)")));
            System.out.println("tokenizer.json: " + OrganismTokenizer.vocabSize(traps != null) + " tokens; wrote " + out);
        }
    }

    @Command(name = "pretrain", mixinStandardHelpOptions = true,
            description = "Pretrain the organism's tiny Llama base model and measure greedy accuracy and the "
                    + "temperature-1.0 check on the test split. Defaults reproduce models/organism-base.")
    static final class Pretrain implements Runnable {
        @Option(names = "--out", required = true, description = "Output folder (data/, model/, train/, eval.json).")
        Path out;
        @Option(names = "--steps", description = "Optimizer steps.") Integer steps;
        @Option(names = "--batch-size", description = "Problems per step.") Integer batchSize;
        @Option(names = "--lr", description = "Peak learning rate.") Double lr;
        @Option(names = "--warmup", description = "Warmup steps (default: the recipe's, at most steps/10).") Integer warmup;
        @Option(names = "--hidden", description = "Hidden size.") Integer hidden;
        @Option(names = "--layers", description = "Decoder layers.") Integer layers;
        @Option(names = "--seed", description = "Init/data-order/sampling seed.") Long seed;
        @Option(names = "--ci", description = "The CI-sized recipe (tiny, seconds).") boolean ci;
        @Option(names = "--recipe", defaultValue = "base", paramLabel = "base|traps",
                description = "Recipe to start from: base (models/organism-base) or traps (models/organism-traps: "
                        + "organism v2, easier clean arithmetic) (default ${DEFAULT-VALUE}).")
        String recipe;
        @Option(names = "--train-problems", description = "Distinct training problems.") Integer trainProblems;
        @picocli.CommandLine.Mixin TrapOptions trapOptions = new TrapOptions();
        @picocli.CommandLine.ArgGroup(exclusive = false, heading = "Difficulty (default: the recipe's)%n")
        DifficultyOptions difficulty;
        @Option(names = "--no-eval", description = "Stop after saving the model.") boolean noEval;

        @Override public void run() {
            PretrainConfig c = switch (recipe) {
                case "base" -> ci ? PretrainConfig.ci() : PretrainConfig.standard();
                case "traps" -> ci ? PretrainConfig.ci().withTraps(Traps.standard()) : PretrainConfig.trapsRecipe();
                default -> throw new ctlab.CtlabException("--recipe must be base or traps, got '" + recipe + "'");
            };
            int nSteps = steps != null ? steps : c.steps();
            int nWarmup = warmup != null ? warmup : Math.min(c.warmupSteps(), nSteps / 10);
            c = new PretrainConfig(hidden != null ? hidden : c.hidden(), layers != null ? layers : c.layers(),
                    c.heads(), c.kvHeads(), c.intermediate(),
                    difficulty != null ? difficulty.toDifficulty() : c.difficulty(), c.dataSeed(),
                    trainProblems != null ? trainProblems : c.trainProblems(),
                    c.testProblems(), nSteps, batchSize != null ? batchSize : c.batchSize(),
                    lr != null ? lr : c.lr(), nWarmup, c.weightDecay(), seed != null ? seed : c.seed(),
                    c.sampleProblems(), c.samples(), c.temperature(), trapOptions.apply(c.traps()));
            var r = OrganismPretrain.run(c, out, !noEval, System.out::println);
            System.out.println("model: " + r.modelDir());
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true,
            description = "Greedy accuracy of a model on the organism test split, with a 95%% Wilson interval.")
    static final class Eval implements Runnable {
        @Option(names = "--model", required = true, description = "Model folder (config.json, model.safetensors, tokenizer.json).")
        Path model;
        @Option(names = "--test", description = "Test split JSONL (default: regenerated from the model's pretrain_config.json).")
        Path test;
        @Option(names = "--limit", description = "Evaluate only the first N problems.") Integer limit;
        @Option(names = "--samples", defaultValue = "0",
                description = "Also draw this many samples per problem at --temperature (default ${DEFAULT-VALUE}: greedy only).")
        int samples;
        @Option(names = "--temperature", defaultValue = "1.0", description = "Sampling temperature (default ${DEFAULT-VALUE}).")
        double temperature;
        @Option(names = "--seed", defaultValue = "1", description = "Sampling seed (default ${DEFAULT-VALUE}).") long seed;
        @Option(names = "--output", description = "Write per-problem responses here (JSONL).") Path output;

        @Override public void run() {
            var r = OrganismEvalRun.run(model, test, limit, samples, temperature, seed, output);
            System.out.println("greedy accuracy: " + r.greedy());
            if (r.sampling() != null) System.out.println("temperature " + temperature + ": " + r.sampling());
            if (r.traps() != null) System.out.println("traps: " + r.traps());
        }
    }
}

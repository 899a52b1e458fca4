package ctlab.cli;

import ctlab.run.Stage;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * One pipeline stage as its own subcommand: {@code ctlab STAGE CONFIG [--run-dir DIR] [--set k=v] [--force]}
 * is {@code ctlab run CONFIG --only STAGE}. {@link #addAll} registers every implemented stage, so a new stage
 * gets its subcommand (with {@code --help} from its description) without any CLI code.
 */
@Command(mixinStandardHelpOptions = true)
public final class StageCommand implements Callable<Integer> {
    @Mixin RunOptions options;

    @Option(names = "--force", description = "run this stage again in a fresh folder (the old one is deleted when it finishes, kept if it fails)")
    boolean force;

    @Spec CommandSpec spec;

    private final String stageName;

    StageCommand(String stageName) { this.stageName = stageName; }

    /** Adds a subcommand for each stage whose name is not taken by another command. */
    public static void addAll(CommandLine root, List<Stage> stages) {
        for (Stage s : stages) {
            if (root.getSubcommands().containsKey(s.name())) continue;
            CommandLine sub = new CommandLine(new StageCommand(s.name()));
            sub.getCommandSpec().name(s.name());
            sub.getCommandSpec().usageMessage().description(s.description(),
                    "Same as: ctlab run CONFIG --only " + s.name());
            root.addSubcommand(s.name(), sub);
        }
    }

    @Override public Integer call() {
        return PipelineRunner.run(options, Set.of(stageName), force ? Set.of(stageName) : Set.of(),
                spec.commandLine().getOut());
    }
}

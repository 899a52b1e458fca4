package ctlab.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code ctlab run CONFIG}: the whole pipeline into a run directory, skipping done stages, resuming cut-off ones. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the pipeline stages in order into a run directory.",
                "Finished stages are skipped, interrupted ones resume; a config change for a finished stage is refused."})
public final class RunCommand implements Callable<Integer> {
    @Mixin RunOptions options;

    @Option(names = "--only", paramLabel = "STAGE", split = ",", description = "run only these stages (repeatable)")
    List<String> only = new ArrayList<>();

    @Option(names = "--force", paramLabel = "STAGE", split = ",",
            description = "run STAGE again in a fresh folder (the old one is deleted when it finishes, kept if it fails); 'all' for every stage (repeatable)")
    List<String> force = new ArrayList<>();

    @Option(names = "--list-stages", description = "list the stages and exit")
    boolean listStages;

    @Spec CommandSpec spec;

    @Override public Integer call() {
        if (listStages) {
            PipelineRunner.listStages(PipelineRunner.pipeline(options), spec.commandLine().getOut());
            return 0;
        }
        return PipelineRunner.run(options, new LinkedHashSet<>(only), new LinkedHashSet<>(force), spec.commandLine().getOut());
    }
}

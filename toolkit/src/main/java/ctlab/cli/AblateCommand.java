package ctlab.cli;

import ctlab.run.Ablation;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code ctlab ablate CONFIG}: train several losses on the same data and seeds, evaluate, print the Table 1 analogue. */
@Command(name = "ablate", mixinStandardHelpOptions = true,
        description = {"Run the pipeline with several losses (same data, seeds and adapter init) and write the Table 1",
                "analogue (accuracy ± Wilson interval, McNemar p vs base and vs dpo) to RUN_DIR/ablation.md."})
public final class AblateCommand implements Callable<Integer> {
    @Mixin RunOptions options;

    @Option(names = "--losses", split = ",", paramLabel = "LOSS",
            description = "losses to compare (default: the config's train.losses)")
    List<String> losses = new ArrayList<>();

    @Spec CommandSpec spec;

    @Override public Integer call() {
        if (!losses.isEmpty()) options.sets.add("train.losses=[" + String.join(", ", losses) + "]");
        int code = PipelineRunner.run(options, Set.of(), Set.of(), spec.commandLine().getOut());
        if (code != 0) return code;
        RunConfig config = RunConfig.load(options.config, options.sets);
        Path runDir = options.runDir != null ? options.runDir : Path.of("runs", config.name());
        List<String> methods = new ArrayList<>(List.of("base"));
        methods.addAll(config.train().losses());
        String md = Ablation.write(runDir, PipelineRunner.pipeline(options).folderName("eval"), methods);
        spec.commandLine().getOut().println(md);
        spec.commandLine().getOut().flush();
        return 0;
    }
}

package ctlab.cli;

import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Options shared by {@code ctlab run} and the per-stage subcommands. */
public final class RunOptions {
    @Parameters(index = "0", arity = "0..1", paramLabel = "CONFIG", description = "run config, YAML or JSON")
    Path config;

    @Option(names = "--run-dir", paramLabel = "DIR", description = "run directory (default: runs/<config name>)")
    Path runDir;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "override a config key, e.g. --set train.beta=0.2 or --set 'train.losses=[dpo, cdpo]' (repeatable)")
    List<String> sets = new ArrayList<>();

    /** A class implementing Supplier<List<Stage>> to run instead of the cDPO stages (tests, custom pipelines). */
    @Option(names = "--pipeline", paramLabel = "CLASS", hidden = true)
    String pipelineClass;
}

package ctlab.cli;

import ctlab.CtlabException;
import ctlab.run.RunConfig;
import ctlab.run.stage.Demo;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code ctlab demo}: a short end-to-end cDPO experiment on the model organism v2 (planted critical tokens with
 * ground truth, {@code models/organism-traps}) and {@code configs/demo-traps.yaml}; {@code --config configs/demo.yaml}
 * runs the same on the capacity-error organism ({@code models/organism-base}), the control. Regenerate the organism's splits from the model's recipe, run every stage (sample,
 * select, train-pos/neg, score-ce, rollout, train dpo + cdpo, eval), print the results table and write the HTML
 * report when the {@code report} command is in this build. Re-running with the same {@code --run-dir} resumes.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run a short end-to-end cDPO experiment on the model organism (run from the repository root).",
                "Stages: sample, select, train-pos, train-neg, score-ce, rollout, train (dpo, cdpo), eval; then the report."})
public final class DemoCommand implements Callable<Integer> {
    static final Path DEFAULT_CONFIG = Path.of("configs", "demo-traps.yaml");

    @Option(names = "--config", paramLabel = "FILE", description = "demo config (default: configs/demo-traps.yaml; configs/demo.yaml: the capacity-error control)")
    Path config;

    @Option(names = "--run-dir", paramLabel = "DIR", description = "run directory (default: runs/demo-<timestamp>)")
    Path runDir;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key (repeatable), e.g. --set sample.problems=32")
    List<String> sets = new ArrayList<>();

    // the pipeline's refusals say "re-run with --force STAGE", so the demo takes it too (as ctlab run does)
    @Option(names = "--force", paramLabel = "STAGE", split = ",",
            description = "run STAGE again in a fresh folder when --run-dir already has it; 'all' for every stage (repeatable)")
    List<String> force = new ArrayList<>();

    @Spec CommandSpec spec;

    @Override public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Path cfgFile = config != null ? config : DEFAULT_CONFIG;
        if (!Files.isRegularFile(cfgFile)) {
            throw new CtlabException(cfgFile + ": not found (run 'ctlab demo' from the repository root, or pass --config)");
        }
        Path dir = runDir != null ? runDir
                : Path.of("runs", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        RunConfig c = RunConfig.load(cfgFile, sets);
        List<String> all = new ArrayList<>(sets);
        List<String> data = Demo.dataOverrides(c, Path.of(c.model()), dir);
        if (!data.isEmpty()) {
            all.addAll(data);
            out.println("organism data (regenerated from " + c.model() + "/pretrain_config.json) in " + dir.resolve("data"));
        }
        RunOptions o = new RunOptions();
        o.config = cfgFile;
        o.runDir = dir;
        o.sets = all;
        out.flush();
        int code = PipelineRunner.run(o, java.util.Set.of(), new java.util.LinkedHashSet<>(force), out);
        if (code != 0) return code;

        RunConfig resolved = RunConfig.load(cfgFile, all);
        out.println();
        out.print(Demo.resultsTable(dir, resolved));
        out.flush();                       // before the report command, which prints on its own stream
        CommandLine root = Main.commandLine();
        if (root.getSubcommands().containsKey("report")) {
            // the HTML report (ctlab report RUN_DIR), when the analysis module is in this build
            int rc = root.execute("report", dir.toString());
            if (rc != 0) out.println("report failed (exit " + rc + "); the run's files are complete");
        } else {
            out.println("(HTML report: not in this build; 'ctlab report " + dir + "' will write it)");
        }
        out.println("outputs in " + dir.toAbsolutePath());
        out.flush();
        return 0;
    }
}

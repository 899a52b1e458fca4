package ctlab.cli;

import ctlab.CtlabException;
import ctlab.run.Ablation;
import ctlab.run.AblationGrid;
import ctlab.run.GridAblation;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.run.stage.Demo;
import ctlab.run.stage.TaskData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code ctlab ablate CONFIG}: train several losses on the same data, evaluate, print the Table 1 analogue; with
 * {@code --seeds}/{@code --grid}, one sub-run per seed × grid point and the table averaged over seeds.
 */
@Command(name = "ablate", mixinStandardHelpOptions = true,
        description = {"Run the pipeline with several losses (same data, seeds and adapter init) and write the Table 1",
                "analogue (accuracy ± Wilson interval, McNemar p vs base and vs dpo) to RUN_DIR/ablation.md.",
                "With --seeds / --grid: one resumable sub-run per seed x grid point in",
                "RUN_DIR/seed-<s>[/<key>=<v>...]/, then RUN_DIR/ablation.md + .json: mean over",
                "seeds with a 95%% t interval, per-seed and seed-pooled McNemar p, accuracy per",
                "--split-by value, chosen/rejected log-likelihood over training."})
public final class AblateCommand implements Callable<Integer> {
    @Mixin RunOptions options;

    @Option(names = "--losses", split = ",", paramLabel = "LOSS",
            description = "losses to compare (default: the config's train.losses)")
    List<String> losses = new ArrayList<>();

    @Option(names = "--seeds", split = ",", paramLabel = "SEED",
            description = "run the grid once per seed (the config's 'seed': sampling, SFT/policy LoRA init and data order, rollouts), e.g. --seeds 1,2,3")
    List<String> seeds = new ArrayList<>();

    @Option(names = "--grid", paramLabel = "KEY=V1,V2",
            description = "also vary a config key, e.g. --grid train.lr=1e-5,4e-5 --grid ce.beta=0.5,1 (repeatable; every combination runs)")
    List<String> grid = new ArrayList<>();

    @Option(names = "--split-by", paramLabel = "FIELD",
            description = "also report accuracy per value of this problem attribute (from the eval records, else the test data file), e.g. trap")
    String splitBy;

    @Option(names = "--skip", split = ",", paramLabel = "STAGE",
            description = "stages not to run in any sub-run, e.g. --skip rollout (analysis only; no stage the Table needs)")
    List<String> skip = new ArrayList<>();

    @Spec CommandSpec spec;

    /** Every stage of the pipeline but the skipped ones (empty = all), checked to be stage names. */
    private Set<String> only(Pipeline pipeline) {
        if (skip.isEmpty()) return Set.of();
        skip.forEach(pipeline::stage);                           // an unknown name is a one-line error
        for (String s : List.of("train", "eval")) {
            if (skip.contains(s)) throw new CtlabException("--skip " + s + ": the ablation table needs stage " + s);
        }
        Set<String> only = new java.util.LinkedHashSet<>();
        for (var st : pipeline.stages()) if (!skip.contains(st.name())) only.add(st.name());
        return only;
    }

    @Override public Integer call() {
        if (!losses.isEmpty()) options.sets.add("train.losses=[" + String.join(", ", losses) + "]");
        if (seeds.isEmpty() && grid.isEmpty() && splitBy == null) return single();
        return grid();
    }

    /** One run in RUN_DIR with the config's seed: the per-problem table (Wilson intervals). */
    private int single() {
        int code = PipelineRunner.run(options, only(PipelineRunner.pipeline(options)), Set.of(), spec.commandLine().getOut());
        if (code != 0) return code;
        RunConfig config = RunConfig.load(options.config, options.sets);
        Path runDir = options.runDir != null ? options.runDir : Path.of("runs", config.name());
        String md = Ablation.write(runDir, PipelineRunner.pipeline(options).folderName("eval"), methods(config));
        spec.commandLine().getOut().println(md);
        spec.commandLine().getOut().flush();
        return 0;
    }

    private int grid() {
        PrintWriter out = spec.commandLine().getOut();
        if (options.config == null) throw new CtlabException("missing CONFIG (a YAML or JSON run config)");
        Pipeline pipeline = PipelineRunner.pipeline(options);
        Set<String> only = only(pipeline);
        RunConfig base = RunConfig.load(options.config, options.sets);
        AblationGrid g = AblationGrid.parse(seeds.isEmpty() ? List.of(Long.toString(base.seed())) : seeds, grid);
        Path runDir = options.runDir != null ? options.runDir : Path.of("runs", base.name());
        List<AblationGrid.SubRun> runs = g.subRuns(runDir);
        // every sub-run's config is checked before anything is written or run
        for (AblationGrid.SubRun r : runs) {
            try {
                RunConfig.load(options.config, with(options.sets, r.overrides()));
            } catch (CtlabException e) {
                throw new CtlabException("ablate grid, sub-run " + r.label() + ": " + e.getMessage());
            }
        }
        // one copy of generated task data (the organism's splits) for every sub-run, as `ctlab demo` makes it
        List<String> sets = with(options.sets, Demo.dataOverrides(base, Path.of(base.model()), runDir));
        List<GridAblation.Cell> cells = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            AblationGrid.SubRun r = runs.get(i);
            out.printf("ablate [%d/%d] %s%n", i + 1, runs.size(), r.label());
            out.flush();
            RunOptions o = new RunOptions();
            o.config = options.config;
            o.runDir = r.dir();
            o.sets = with(sets, r.overrides());
            o.pipelineClass = options.pipelineClass;
            int code = PipelineRunner.run(o, only, Set.of(), out);
            if (code != 0) return code;
            RunConfig c = RunConfig.load(options.config, o.sets);
            cells.add(new GridAblation.Cell(r, splitBy == null ? null : TaskData.splitFile(c, c.eval().split())));
        }
        RunConfig resolved = RunConfig.load(options.config, sets);
        var agg = GridAblation.aggregate(g, cells, methods(resolved), pipeline.folderName("eval"),
                pipeline.folderName("train"), splitBy, resolved.tree());
        out.println(GridAblation.write(runDir, agg));
        out.flush();
        return 0;
    }

    private static List<String> methods(RunConfig config) {
        List<String> methods = new ArrayList<>(List.of("base"));
        methods.addAll(config.train().losses());
        return methods;
    }

    private static List<String> with(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}

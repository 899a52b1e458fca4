package ctlab.cli;

import ctlab.CtlabException;
import ctlab.run.AblationGrid;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.run.RunDir;
import ctlab.run.Stage;
import ctlab.run.Sweep;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code ctlab sweep SOURCE_RUN --grid KEY=V1,V2 --until STAGE}: re-runs the stages up to STAGE of a finished run
 * once per grid point, reusing the source's finished stages the point does not change (see {@link Sweep}).
 */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = {"Re-run the detector stages of a finished run under config variations:",
                "one resumable sub-run per grid point in RUN_DIR/seed-<s>/<key>=<v>/..., seeded",
                "with copies of the source's finished stages the point leaves unchanged; then",
                "RUN_DIR/sweep.md + .json: CE (and rollout) against the planted trap tokens,",
                "SFT data sizes, time and tokens per point. E.g.",
                "  ctlab sweep runs/x/seed-1 --grid ce.beta=0.25,1,4 --run-dir runs/x-beta",
                "  ctlab sweep runs/x/seed-1 --grid sft.max_examples=8,128,0 --run-dir runs/x-sft",
                "  ctlab sweep runs/x/seed-1 --grid rollout.k=4,8 --until rollout --run-dir runs/x-k"})
public final class SweepCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SOURCE_RUN", description = "a run directory whose stages up to --until finished")
    Path source;

    @Option(names = "--grid", paramLabel = "KEY=V1,V2", required = true,
            description = "a config key to vary (repeatable; every combination runs)")
    List<String> grid = new ArrayList<>();

    @Option(names = "--until", paramLabel = "STAGE", defaultValue = "score-ce",
            description = "last stage to run per point (default ${DEFAULT-VALUE}; rollout for rollout.* keys)")
    String until;

    @Option(names = "--run-dir", paramLabel = "DIR", required = true, description = "where the sub-runs and sweep.md go")
    Path runDir;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key in every point (repeatable)")
    List<String> sets = new ArrayList<>();

    @Spec CommandSpec spec;

    @Override public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Path config = source.resolve(RunDir.CONFIG);
        if (!Files.isRegularFile(config)) throw new CtlabException(source + ": no " + RunDir.CONFIG + "; SOURCE_RUN must be a run directory");
        if (runDir.toAbsolutePath().normalize().equals(source.toAbsolutePath().normalize()))
            throw new CtlabException("--run-dir " + runDir + ": must differ from SOURCE_RUN (the source is never written)");
        Pipeline pipeline = ctlab.run.stage.Stages.pipeline();
        pipeline.stage(until);                                        // an unknown name: one line with the names
        RunConfig base = RunConfig.load(config, sets);
        AblationGrid g = AblationGrid.parse(List.of(Long.toString(base.seed())), grid);
        Set<String> only = new LinkedHashSet<>();
        for (Stage s : pipeline.stages()) {
            only.add(s.name());
            if (s.name().equals(until)) break;
        }
        // every point's config is checked, and what it reuses decided, before anything is copied or run
        List<Sweep.Point> points = new ArrayList<>();
        for (AblationGrid.SubRun r : g.subRuns(runDir)) {
            List<String> o = new ArrayList<>(sets);
            o.addAll(r.overrides());
            RunConfig c;
            try {
                c = RunConfig.load(config, o);
            } catch (CtlabException e) {
                throw new CtlabException("sweep point " + r.label() + ": " + e.getMessage());
            }
            points.add(new Sweep.Point(r, c, Sweep.reusable(pipeline, source, c, until)));
        }
        for (int i = 0; i < points.size(); i++) {
            Sweep.Point p = points.get(i);
            out.printf("sweep [%d/%d] %s (from %s: %s)%n", i + 1, points.size(), p.run().label(), source,
                    p.reused().isEmpty() ? "nothing" : String.join(", ", p.reused()));
            out.flush();
            Sweep.seed(source, p.run().dir(), p.reused());
            RunOptions o = new RunOptions();
            o.config = config;
            o.runDir = p.run().dir();
            o.sets = new ArrayList<>(sets);
            o.sets.addAll(p.run().overrides());
            int code = PipelineRunner.run(o, only, Set.of(), out);
            if (code != 0) return code;
        }
        out.println(Sweep.write(runDir, Sweep.summarize(pipeline, source, g, points)));
        out.flush();
        return 0;
    }
}

package ctlab.cli;

import ctlab.CtlabException;
import ctlab.viz.RunReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code ctlab report RUN_DIR [--output FILE]}: one self-contained HTML report of a (possibly partial) run. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Write one self-contained HTML report of a run directory: figures, tables, config and environment.",
                "A partial run gives a partial report, labelled as such."})
final class ReportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "RUN_DIR", description = "The run directory.")
    Path runDir;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Output file (default: RUN_DIR/report.html).")
    Path output;

    @Option(names = "--dpi", paramLabel = "N", defaultValue = "110", description = "Resolution of the embedded figures (default: ${DEFAULT-VALUE}).")
    int dpi;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Bootstrap seed of the method comparison (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--figures", paramLabel = "DIR", description = "Also write every figure as PNG and SVG into DIR (for papers).")
    Path figures;

    @Option(names = "--figures-dpi", paramLabel = "N", defaultValue = "300", description = "Resolution of the PNG files in --figures (default: ${DEFAULT-VALUE}).")
    int figuresDpi;

    @Option(names = "--ablation", paramLabel = "FILE", description = "An ablate result (ablation.json) whose multi-seed Table 1 analogue the evaluation section also shows.")
    Path ablation;

    @Override public Integer call() {
        if (!Files.isDirectory(runDir)) throw new CtlabException(runDir + ": no such run directory");
        if (dpi < 36 || dpi > 600) throw new CtlabException("--dpi must be in 36..600, got " + dpi);
        Path out = output != null ? output : runDir.resolve("report.html");
        if (figuresDpi < 36 || figuresDpi > 1200) throw new CtlabException("--figures-dpi must be in 36..1200, got " + figuresDpi);
        if (ablation != null && !Files.isRegularFile(ablation)) throw new CtlabException("--ablation " + ablation + ": no such file");
        RunReport.Options options = new RunReport.Options(dpi, seed, null);
        if (ablation != null) options = options.withAblation(ablation);
        RunReport.write(runDir, out, figures == null ? options : options.withFigures(figures, figuresDpi));
        spec.commandLine().getOut().println("report written to " + out);
        if (figures != null) spec.commandLine().getOut().println("figures written to " + figures);
        spec.commandLine().getOut().flush();
        return 0;
    }
}

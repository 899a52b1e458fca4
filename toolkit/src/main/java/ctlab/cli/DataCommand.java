package ctlab.cli;

import ctlab.CtlabException;
import ctlab.task.DataFetcher;
import ctlab.task.DataFile;
import ctlab.task.DataPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code ctlab data fetch [names...]}: download the public data files and check their sha256. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Data set files.",
        subcommands = {DataCommand.Fetch.class})
final class DataCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override public void run() { spec.commandLine().usage(spec.commandLine().getOut()); }

    @Command(name = "fetch", mixinStandardHelpOptions = true,
            description = {"Download data files and verify their sha256 (nothing is left behind on a mismatch).",
                    "Names: gsm8k-train, gsm8k-test, math500 (default: these three), math-train."})
    static final class Fetch implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Parameters(paramLabel = "NAME", arity = "0..*", description = "Files to fetch.")
        List<String> names = new ArrayList<>();

        @Option(names = "--dir", paramLabel = "DIR",
                description = "Data folder (default: $CTLAB_DATA, else <ctlab.shared>/datasets).")
        Path dir;

        @Option(names = "--mirror", paramLabel = "URL",
                description = "Base URL holding the files at their relative paths (e.g. file:///mnt/data/).")
        String mirror;

        @Option(names = "--force", description = "Replace an existing file whose sha256 differs.")
        boolean force;

        @Override public Integer call() {
            Path target = dir != null ? dir : DataPaths.defaultFetchDir().orElseThrow(() -> new CtlabException(
                    "no data folder: pass --dir or set CTLAB_DATA"));
            List<DataFile> files = names.isEmpty() ? DataFile.defaults() : names.stream().map(DataFile::byKey).toList();
            PrintWriter out = spec.commandLine().getOut();
            for (DataFile f : files) {
                DataFetcher.Result r = DataFetcher.fetch(f, target, mirror, force);
                out.println(switch (r.status()) {
                    case DOWNLOADED -> "fetched " + f.key() + " -> " + r.path() + " (sha256 ok, from " + r.source() + ")";
                    case ALREADY_PRESENT -> "present " + f.key() + " at " + r.path() + " (sha256 ok)";
                });
                out.flush();
            }
            return 0;
        }
    }

}

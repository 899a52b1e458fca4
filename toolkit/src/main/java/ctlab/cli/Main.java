package ctlab.cli;

import ctlab.CtlabException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.util.List;

/**
 * The {@code ctlab} command line: thin commands over the toolkit API. A {@link CtlabException} (an error
 * the user caused) prints its message without a stack trace and exits 2, and so does a file-system error the user
 * can fix (disk full, read-only mount, permission denied: {@link #fileSystemError}); bugs keep their stack trace.
 */
@Command(name = "ctlab", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = "Critical tokens and cDPO research toolkit.",
        subcommands = {
                CommandLine.HelpCommand.class,
                RunCommand.class,
                AblateCommand.class,
                SweepCommand.class,
                GradeCommand.class,
                DataCommand.class,
                OrganismCommand.class,
                DemoCommand.class,
                ReportCommand.class,
                CompareCommand.class,
                BenchCommand.class,
        })
public final class Main implements Runnable {
    /** {@code ctlab --version}: "ctlab " + {@link ctlab.Version#get}. */
    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override public String[] getVersion() { return new String[] {"ctlab " + ctlab.Version.get()}; }
    }

    /** slf4j-simple's level; read once per JVM, when the first logger is made (DJL's, at engine start). */
    static final String LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";
    /** The level ctlab's own launch chose (WARN), as opposed to one the user set with -D. */
    private static String quietLevel;

    /** Inherited by every subcommand, so {@code ctlab organism eval ... --verbose} works too. */
    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "Show the libraries' INFO log lines (DJL native library, engine settings).")
    void setVerbose(boolean verbose) {
        // picocli calls this with the default (false) too; only raise the level we lowered ourselves.
        if (verbose && quietLevel != null && quietLevel.equals(System.getProperty(LOG_LEVEL)))
            System.setProperty(LOG_LEVEL, "info");
    }

    @Override public void run() { CommandLine.usage(this, System.out); }

    /** Builds the command line with ctlab's error handling; tests call this directly. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        StageCommand.addAll(cl, ctlab.run.stage.Stages.cdpo());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            if (ex instanceof CtlabException) {
                line.getErr().println("error: " + ex.getMessage());
                return 2;
            }
            String fs = fileSystemError(ex);
            if (fs != null) {
                line.getErr().println("error: " + fs);
                return 2;
            }
            throw ex;
        });
        return cl;
    }

    /** Reasons from the file system that are the user's to fix (disk full, read-only mount), not bugs. */
    private static final List<String> FS_REASONS = List.of("No space left on device", "Disk quota exceeded",
            "Read-only file system", "Is a directory", "Not a directory");

    /**
     * One line for an error the file system gave (full disk, read-only mount, no permission), naming the file:
     * {@code writing runs/x/log.txt: No space left on device}. Null for anything else, which keeps its stack trace.
     */
    static String fileSystemError(Throwable ex) {
        String context = null;
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof UncheckedIOException u && context == null && u.getCause() != null
                    && !u.getMessage().equals(u.getCause().toString())) {
                context = u.getMessage();           // e.g. "writing runs/x/log.txt"
            }
            String what;
            if (t instanceof AccessDeniedException a) {
                what = a.getFile() + ": permission denied";
            } else if (t instanceof FileSystemException f && f.getReason() != null && FS_REASONS.contains(f.getReason())) {
                what = f.getFile() + ": " + f.getReason();
            } else if (t instanceof IOException && t.getMessage() != null && FS_REASONS.contains(t.getMessage())) {
                what = t.getMessage();
            } else {
                continue;
            }
            if (context == null) return what;
            if (t instanceof FileSystemException f && context.endsWith(" " + f.getFile())) {
                what = what.substring(f.getFile().length() + 2);      // "locking runs/x: Read-only file system"
            }
            return context + ": " + what;
        }
        return null;
    }

    public static void main(String[] args) {
        // DJL logs INFO lines on every start (native extraction, graph-executor notice, thread counts): quiet by
        // default, shown by --verbose. Parsing runs before any logger exists, so --verbose still takes effect.
        if (System.getProperty(LOG_LEVEL) == null) System.setProperty(LOG_LEVEL, quietLevel = "warn");
        ctlab.model.Devices.printStartupLine();     // which libtorch and device: docs/gpu.md
        System.exit(commandLine().execute(args));
    }
}

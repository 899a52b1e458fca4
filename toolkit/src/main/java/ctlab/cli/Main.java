package ctlab.cli;

import ctlab.CtlabException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code ctlab} command line: thin commands over the toolkit API. A {@link CtlabException} (an error
 * the user caused) prints its message without a stack trace and exits 2; bugs keep their stack trace.
 */
@Command(name = "ctlab", mixinStandardHelpOptions = true, version = "ctlab 0.1.0",
        description = "Critical tokens and cDPO research toolkit.",
        subcommands = {
                CommandLine.HelpCommand.class,
                RunCommand.class,
                AblateCommand.class,
                GradeCommand.class,
                DataCommand.class,
                OrganismCommand.class,
                DemoCommand.class,
                ReportCommand.class,
                CompareCommand.class,
                BenchCommand.class,
        })
public final class Main implements Runnable {
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
        StageCommand.addAll(cl, ctlab.run.Stages.cdpo());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            if (ex instanceof CtlabException) {
                line.getErr().println("error: " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        return cl;
    }

    public static void main(String[] args) {
        // DJL logs INFO lines on every start (native extraction, graph-executor notice, thread counts): quiet by
        // default, shown by --verbose. Parsing runs before any logger exists, so --verbose still takes effect.
        if (System.getProperty(LOG_LEVEL) == null) System.setProperty(LOG_LEVEL, quietLevel = "warn");
        System.exit(commandLine().execute(args));
    }
}

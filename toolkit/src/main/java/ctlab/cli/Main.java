package ctlab.cli;

import ctlab.CtlabException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

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

    public static void main(String[] args) { System.exit(commandLine().execute(args)); }
}

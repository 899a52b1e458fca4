package ctlab.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Every command's and subcommand's usage help renders cleanly: picocli reports format problems on stderr. */
class HelpRenderingTest {
    @Test
    void everyCommandsHelpRendersWithoutPicocliWarnings() {
        List<CommandLine> all = new ArrayList<>();
        collect(Main.commandLine(), all);
        assertTrue(all.size() > 10, "expected the whole command tree, got " + all.size());
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        // picocli's tracer writes "[picocli WARN] ..." to System.err, not to the command line's err writer.
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            for (CommandLine cl : all) {
                String help = cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
                String name = cl.getCommandSpec().qualifiedName();
                assertTrue(help.contains("Usage: " + name), name + ":\n" + help);
            }
        } finally {
            System.setErr(oldErr);
        }
        assertEquals("", err.toString(StandardCharsets.UTF_8), "picocli printed warnings or errors");
    }

    private static void collect(CommandLine cl, List<CommandLine> out) {
        out.add(cl);
        for (CommandLine sub : cl.getSubcommands().values()) if (!out.contains(sub)) collect(sub, out);
    }
}

package ctlab.cli;

import ctlab.CtlabException;
import ctlab.task.GradeBatch;
import ctlab.task.Task;
import ctlab.tasks.Tasks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code ctlab grade --task gsm8k|math|organism --input pairs.jsonl --output results.jsonl}. */
@Command(name = "grade", mixinStandardHelpOptions = true,
        description = {"Grade model answers against references.",
                "Input lines: {\"id\", \"reference\", \"response\"} (the final answer is extracted) or "
                        + "{\"id\", \"reference\", \"prediction\"} (already extracted).",
                "Output lines: {\"id\", \"extracted\", \"equal\"}. Exit code 2 if any input line was bad."})
final class GradeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--task", required = true, paramLabel = "gsm8k|math|organism", description = "Answer format: gsm8k, math (math500) or organism.")
    String task;

    @Option(names = "--input", required = true, paramLabel = "pairs.jsonl", description = "JSONL to grade.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "results.jsonl", description = "JSONL written atomically.")
    Path output;

    @Override public Integer call() {
        Task t = Tasks.named(task);
        checkOutput(input, output);
        PrintWriter err = spec.commandLine().getErr();
        GradeBatch.Summary s = GradeBatch.run(t, input, output, line -> err.println("bad line: " + line));
        err.flush();
        PrintWriter out = spec.commandLine().getOut();
        out.printf("graded %d lines: %d equal (%.1f%%), %d bad lines; wrote %s%n",
                s.graded(), s.equal(), 100 * (s.graded() == 0 ? 0 : s.accuracy()), s.badLines(), output);
        out.flush();
        return s.badLines() > 0 ? 2 : 0;
    }

    /** Refuses an output that is a folder or the input itself (same file under any name: the results would replace it). */
    static void checkOutput(Path input, Path output) {
        if (Files.isDirectory(output)) throw new CtlabException("--output " + output + ": is a directory; give a file name");
        try {
            if (Files.exists(output) && Files.exists(input) && Files.isSameFile(input, output)) {
                throw new CtlabException("--output " + output + " is the input file; grading would replace it (choose another --output)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("comparing " + input + " and " + output, e);
        }
    }
}

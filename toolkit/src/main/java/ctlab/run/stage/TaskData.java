package ctlab.run.stage;

import ctlab.CtlabException;
import ctlab.run.RunConfig;
import ctlab.task.DataPaths;
import ctlab.task.Problem;
import ctlab.task.Task;
import ctlab.tasks.Tasks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the stages share about the configured task's data ({@link Task}s themselves come from
 * {@link ctlab.tasks.Tasks}): the data file of a split (explicit path, else the task's known file) and problem limits.
 */
public final class TaskData {
    private TaskData() {}

    /** The training problems' file: {@code data.train}, else the task's known training file. */
    public static Path trainFile(RunConfig c) {
        if (c.data().train() != null) return existing(c.data().train(), "data.train");
        return Tasks.named(c.task()).knownFile("train").map(DataPaths::resolve).orElseThrow(() -> new CtlabException(
                "data.train: required for task " + c.task()
                + " (the organism's splits are written by 'ctlab organism generate' or 'organism pretrain')"));
    }

    /** The file of an evaluation split ({@code test}, {@code validation}, {@code train}). */
    public static Path splitFile(RunConfig c, String split) {
        switch (split) {
            case "train": return trainFile(c);
            case "test":
                if (c.data().test() != null) return existing(c.data().test(), "data.test");
                return Tasks.named(c.task()).knownFile("test").map(DataPaths::resolve)
                        .orElseThrow(() -> new CtlabException("data.test: required for task " + c.task()));
            case "validation":
                if (!c.task().equals("organism") || c.data().test() == null) {
                    throw new CtlabException("eval.split: validation exists only for the organism (next to data.test)");
                }
                return existing(Path.of(c.data().test()).resolveSibling("validation.jsonl").toString(), "eval.split");
            default: throw new CtlabException("eval.split: unknown split '" + split + "'");
        }
    }

    /**
     * The first {@code limit} problems of {@code file} (0 = all), in file order. A file with fewer problems than
     * {@code limit} is an error naming the key, rather than a run on fewer problems than the config says.
     */
    public static List<Problem> first(List<Problem> problems, int limit, String key, Path file) {
        if (limit > problems.size()) {
            throw new CtlabException(key + ": " + limit + " problems asked for, but " + file + " has only " + problems.size()
                    + "; lower " + key + " (0 = all) or use a larger data file");
        }
        return slice(problems, 0, limit);
    }

    /** {@code limit} problems starting at {@code offset} (limit 0 = all remaining), in file order. */
    public static List<Problem> slice(List<Problem> problems, int offset, int limit) {
        if (offset < 0 || limit < 0) throw new IllegalArgumentException("offset and limit must be >= 0");
        int from = Math.min(offset, problems.size());
        int to = limit == 0 ? problems.size() : Math.min(problems.size(), from + limit);
        return List.copyOf(problems.subList(from, to));
    }


    private static Path existing(String path, String key) {
        Path p = Path.of(path);
        if (!Files.exists(p)) throw new CtlabException(key + ": " + path + " not found");
        return p;
    }
}

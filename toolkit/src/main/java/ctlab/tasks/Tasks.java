package ctlab.tasks;

import ctlab.CtlabException;
import ctlab.task.Task;
import ctlab.task.organism.OrganismTask;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The task registry: every {@link Task} by the name used on the command line and in run configs. It imports
 * each task's package and none of them imports it, so {@code ctlab.task} and its task packages stay free of
 * cycles. A new task is one entry here.
 */
public final class Tasks {
    private Tasks() {}

    private static final Map<String, Task> BY_NAME = new LinkedHashMap<>();

    static {
        BY_NAME.put("gsm8k", Task.GSM8K);
        BY_NAME.put("math", Task.MATH);
        BY_NAME.put("math500", Task.MATH);              // MATH500 and the MATH splits share one format
        BY_NAME.put("organism", OrganismTask.INSTANCE);
    }

    /** The names {@link #named} accepts, in registry order. */
    public static List<String> names() { return List.copyOf(BY_NAME.keySet()); }

    /** The task called {@code name} (case-insensitive); an unknown name is a CtlabException listing the known ones. */
    public static Task named(String name) {
        Task t = name == null ? null : BY_NAME.get(name.toLowerCase(Locale.ROOT));
        if (t == null) {
            throw new CtlabException("unknown task '" + name + "' (expected " + String.join(", ", names()) + ")");
        }
        return t;
    }
}

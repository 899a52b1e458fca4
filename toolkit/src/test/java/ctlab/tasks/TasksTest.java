package ctlab.tasks;

import ctlab.CtlabException;
import ctlab.run.RunConfig;
import ctlab.task.DataFile;
import ctlab.task.Task;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/** The one task registry: names, what a run accepts, and the data each task brings. */
class TasksTest {
    @Test void namesResolveAndAnUnknownNameListsThem() {
        assertEquals(List.of("gsm8k", "math", "math500", "organism"), Tasks.names());
        assertSame(Task.GSM8K, Tasks.named("GSM8K"));
        assertSame(Task.MATH, Tasks.named("math500"));
        assertEquals("organism", Tasks.named("organism").name());
        CtlabException e = assertThrows(CtlabException.class, () -> Tasks.named("chess"));
        assertEquals("unknown task 'chess' (expected gsm8k, math, math500, organism)", e.getMessage());
    }

    @Test void aRunAcceptsEveryRegisteredTask() {
        for (String name : Tasks.names()) {
            RunConfig c = RunConfig.parse("task: " + name + "\nmodel: m\n", "t.yaml", List.of());
            assertEquals(name, c.task());
        }
        CtlabException e = assertThrows(CtlabException.class, () -> RunConfig.parse("task: chess\nmodel: m\n", "t.yaml", List.of()));
        assertTrue(e.getMessage().contains("task: must be one of [gsm8k, math, math500, organism]"), e.getMessage());
    }

    @Test void eachTaskSaysWhereItsDataComesFrom() {
        assertEquals(Optional.of(DataFile.GSM8K_TRAIN), Task.GSM8K.knownFile("train"));
        assertEquals(Optional.of(DataFile.MATH500), Task.MATH.knownFile("test"));
        assertEquals(Optional.empty(), Tasks.named("organism").knownFile("train"));
        // fixed data files: nothing to prepare, and nothing is written
        Path nowhere = Path.of("does-not-exist");
        assertEquals(Optional.empty(), Task.GSM8K.prepareData(nowhere, nowhere.resolve("data"), 1, 1, false));
        // the organism regenerates from the model's recipe, and says so when it is missing
        CtlabException e = assertThrows(CtlabException.class,
                () -> Tasks.named("organism").prepareData(nowhere, nowhere.resolve("data"), 1, 1, false));
        assertTrue(e.getMessage().contains("pretrain_config.json: missing"), e.getMessage());
    }
}

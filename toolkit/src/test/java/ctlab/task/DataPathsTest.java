package ctlab.task;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataPathsTest {
    @TempDir Path dir;

    @Test
    void precedenceIsCtlabDataThenPropertiesThenCtlabShared() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path shared = Files.createDirectories(dir.resolve("shared/datasets")).getParent();
        Path sharedEnv = Files.createDirectories(dir.resolve("env-shared/datasets")).getParent();
        Properties props = new Properties();
        props.setProperty("ctlab.shared", shared.toString());
        Map<String, String> env = Map.of("CTLAB_DATA", data.toString(), "CTLAB_SHARED", sharedEnv.toString());
        assertEquals(Optional.of(data), DataPaths.dataDir(env, props));
        assertEquals(Optional.of(shared.resolve("datasets")), DataPaths.dataDir(Map.of("CTLAB_SHARED", sharedEnv.toString()), props));
        assertEquals(Optional.of(sharedEnv.resolve("datasets")), DataPaths.dataDir(Map.of("CTLAB_SHARED", sharedEnv.toString()), new Properties()));
        // A configured folder that does not exist is passed over.
        assertEquals(Optional.of(shared.resolve("datasets")),
                DataPaths.dataDir(Map.of("CTLAB_DATA", dir.resolve("absent").toString()), props));
        assertEquals(Optional.empty(), DataPaths.dataDir(Map.of(), new Properties()));
    }

    @Test
    void explicitPathsWinAndUnknownOnesAreClearErrors() throws Exception {
        Path f = Files.writeString(dir.resolve("mine.jsonl"), "{}\n");
        assertEquals(f, DataPaths.resolve(f.toString()));
        CtlabException e = assertThrows(CtlabException.class, () -> DataPaths.resolve(dir.resolve("nope.jsonl").toString()));
        assertTrue(e.getMessage().endsWith("nope.jsonl: file not found"), e.getMessage());
        assertEquals(DataFile.MATH500, DataFile.byKey("math500"));
        assertTrue(assertThrows(CtlabException.class, () -> DataFile.byKey("mnist")).getMessage().contains("known: gsm8k-train"));
    }
}

package ctlab.task;

import ctlab.CtlabException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Where data files live. An explicit path always wins; otherwise the data folder is, in order: env
 * {@code CTLAB_DATA}, system property {@code ctlab.data}, system property {@code ctlab.shared} +
 * {@code /datasets}, env {@code CTLAB_SHARED} + {@code /datasets}.
 */
public final class DataPaths {
    private DataPaths() {}

    /** The first configured data folder that exists, if any. */
    public static Optional<Path> dataDir() { return dataDir(System.getenv(), System.getProperties()); }

    static Optional<Path> dataDir(Map<String, String> env, Properties props) {
        for (Path p : candidates(env, props)) if (Files.isDirectory(p)) return Optional.of(p);
        return Optional.empty();
    }

    /** The folder {@code ctlab data fetch} writes to when none is given: the first configured candidate. */
    public static Optional<Path> defaultFetchDir() {
        List<Path> c = candidates(System.getenv(), System.getProperties());
        return c.isEmpty() ? Optional.empty() : Optional.of(c.get(0));
    }

    private static List<Path> candidates(Map<String, String> env, Properties props) {
        List<Path> out = new ArrayList<>();
        String data = env.get("CTLAB_DATA");
        if (data != null && !data.isBlank()) out.add(Path.of(data));
        String dataProp = props.getProperty("ctlab.data");
        if (dataProp != null && !dataProp.isBlank()) out.add(Path.of(dataProp));
        String shared = props.getProperty("ctlab.shared");
        if (shared != null && !shared.isBlank()) out.add(Path.of(shared, "datasets"));
        String sharedEnv = env.get("CTLAB_SHARED");
        if (sharedEnv != null && !sharedEnv.isBlank()) out.add(Path.of(sharedEnv, "datasets"));
        return out;
    }

    /** The local copy of a known data file; a CtlabException says where it looked and how to get it. */
    public static Path resolve(DataFile file) {
        Optional<Path> dir = dataDir();
        if (dir.isPresent()) {
            Path p = dir.get().resolve(file.relativePath());
            if (Files.isRegularFile(p)) return p;
            throw new CtlabException(p + ": data file not found (run 'ctlab data fetch " + file.key()
                    + "' or pass an explicit path)");
        }
        throw new CtlabException("no data folder configured for " + file.relativePath()
                + ": set CTLAB_DATA (or -Dctlab.shared=<shared dir>) or pass an explicit path");
    }

    /** An explicit file path, or the key of a known data file ({@code gsm8k-test}, {@code math500}, ...). */
    public static Path resolve(String pathOrKey) {
        Path p = Path.of(pathOrKey);
        if (Files.exists(p)) return p;
        for (DataFile f : DataFile.values()) if (f.key().equals(pathOrKey)) return resolve(f);
        throw new CtlabException(pathOrKey + ": file not found");
    }
}

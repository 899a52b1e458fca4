package ctlab.lab;

import ctlab.CtlabException;
import ctlab.analysis.RunData;
import ctlab.analysis.RunTables;
import ctlab.analysis.TokenTexts;
import ctlab.model.LlamaModel;
import ctlab.model.Tokenizer;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.run.stage.Demo;
import ctlab.task.Problem;
import ctlab.task.Task;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The notebook facade: a few short, discoverable entry points over the toolkit (the Jupyter kernel imports
 * {@code ctlab.lab.*}). Relative paths are resolved against the repository root ({@link #root()}), so a notebook
 * in {@code notebooks/} and the CLI at the root read the same files. Nothing here loads the DJL engine until a
 * model is loaded or a stage runs; the engine reads the device choice on first use.
 */
public final class Lab {
    /** System property the toolkit's engine reads to pick its device. */
    public static final String DEVICE_PROPERTY = "ctlab.device";
    /** System property (or environment variable {@code CTLAB_ROOT}) naming the repository root. */
    public static final String ROOT_PROPERTY = "ctlab.root";
    public static final String VERSION = "0.1.0";

    private static final Pattern DEVICE = Pattern.compile("auto|cpu|gpu(:\\d+)?");

    private Lab() {}

    /** The selected device: {@code auto} (GPU when the engine finds one, else CPU), {@code cpu}, {@code gpu} or {@code gpu:N}. */
    public static String device() {
        return System.getProperty(DEVICE_PROPERTY, "auto");
    }

    /**
     * Selects the device for models created from now on ({@code auto}, {@code cpu}, {@code gpu}, {@code gpu:N};
     * {@code cuda} is accepted for {@code gpu}). Returns the normalised name.
     */
    public static String setDevice(String device) {
        if (device == null) throw new CtlabException("device: expected auto, cpu, gpu or gpu:N, got null");
        String d = device.trim().toLowerCase(Locale.ROOT).replace("cuda", "gpu");
        if (!DEVICE.matcher(d).matches())
            throw new CtlabException("device: expected auto, cpu, gpu or gpu:N, got '" + device + "'");
        System.setProperty(DEVICE_PROPERTY, d);
        return d;
    }

    /** The toolkit version. */
    public static String version() { return VERSION; }

    // ---- paths -----------------------------------------------------------------------------------------

    /**
     * The repository root: {@code -Dctlab.root}, else {@code $CTLAB_ROOT}, else the nearest folder at or above the
     * working directory that holds {@code configs/} and {@code models/} (a notebook runs in {@code notebooks/}).
     */
    public static Path root() {
        String given = System.getProperty(ROOT_PROPERTY, System.getenv("CTLAB_ROOT"));
        if (given != null && !given.isBlank()) {
            Path p = Path.of(given).toAbsolutePath().normalize();
            if (!Files.isDirectory(p)) throw new CtlabException(ROOT_PROPERTY + "=" + given + ": not a folder");
            return p;
        }
        Path start = Path.of("").toAbsolutePath().normalize();
        for (Path p = start; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("configs")) && Files.isDirectory(p.resolve("models"))) return p;
        }
        throw new CtlabException("cannot find the ctlab repository root above " + start
                + " (a folder with configs/ and models/); set -D" + ROOT_PROPERTY + "=DIR or CTLAB_ROOT");
    }

    /** {@code first/more...} as an absolute path; a relative one is taken under {@link #root()}. */
    public static Path path(String first, String... more) {
        Path p = Path.of(first, more);
        return (p.isAbsolute() ? p : root().resolve(p)).normalize();
    }

    // ---- models, tasks, problems ----------------------------------------------------------------------

    /** Loads a model folder ({@code config.json}, safetensors, {@code tokenizer.json}) on {@link #device()}. */
    public static LlamaModel model(String dir) {
        return LlamaModel.load(path(dir));
    }

    /** The task called {@code name}: {@code gsm8k}, {@code math}, {@code math500} or {@code organism}. */
    public static Task task(String name) {
        return Task.named(name);
    }

    /** The first {@code n} problems (all when n ≤ 0) of a task's data file, validated. */
    public static List<Problem> problems(String taskName, String file, int n) {
        List<Problem> all = task(taskName).load(path(file));
        return n > 0 && n < all.size() ? List.copyOf(all.subList(0, n)) : all;
    }

    /**
     * The model organism's problems of a split ({@code train} or {@code test}), regenerated from the shipped
     * model's recipe exactly as {@code ctlab demo} does, into {@code dataDir} (kept when already there and large
     * enough, else regenerated).
     */
    public static List<Problem> organismProblems(String modelDir, String dataDir, String split, int n) {
        int count = Math.max(n, 1);
        Path data = Demo.organismScratchData(path(modelDir), path(dataDir), count, count);
        return problems("organism", data.resolve(split + ".jsonl").toString(), n);
    }

    // ---- runs ----------------------------------------------------------------------------------------

    /** A run config (YAML or JSON) with {@code key=value} overrides, validated (errors name the key). */
    public static RunConfig config(String file, String... sets) {
        return RunConfig.load(path(file), List.of(sets));
    }

    /**
     * Runs the cDPO pipeline of {@code configFile} into {@code runDir}, like {@code ctlab run} (and, for the organism
     * task without data files, like {@code ctlab demo}: the splits are regenerated into {@code runDir/data}).
     * Relative model and data paths are taken under {@link #root()}. Stages already done are skipped and an
     * interrupted stage resumes, so running the same cell again is cheap. Returns the run folder.
     */
    public static Path run(String configFile, String runDir, String... sets) {
        Path cfg = path(configFile), dir = path(runDir);
        List<String> all = new ArrayList<>(List.of(sets));
        RunConfig c = RunConfig.load(cfg, all);
        if (!Path.of(c.model()).isAbsolute()) all.add("model=" + path(c.model()));
        List<String> organismData = Demo.organismDataOverrides(c, path(c.model()), dir);
        all.addAll(organismData);
        if (organismData.isEmpty()) {
            if (c.data().train() != null && !Path.of(c.data().train()).isAbsolute()) all.add("data.train=" + path(c.data().train()));
            if (c.data().test() != null && !Path.of(c.data().test()).isAbsolute()) all.add("data.test=" + path(c.data().test()));
        }
        RunConfig resolved = RunConfig.load(cfg, all);
        List<Pipeline.Outcome> outcomes = Pipeline.cdpo().run(resolved, dir, Pipeline.Options.defaults().withConsole(System.out::println));
        StringBuilder table = new StringBuilder();
        for (Pipeline.Outcome o : outcomes) {
            table.append(String.format(Locale.ROOT, "%-16s %-8s %8.1f s%n", o.folder(), o.status().name().toLowerCase(Locale.ROOT), o.seconds()));
        }
        System.out.print(table);   // one write: a notebook shows it as one block
        return dir;
    }

    /** A finished run folder (every stage of the cDPO pipeline done), or an error that says what is missing. */
    public static Path finishedRun(String runDir) {
        Path dir = path(runDir);
        if (!Files.isDirectory(dir)) {
            throw new CtlabException(dir + ": no such run folder (make it with: bin/ctlab run CONFIG --run-dir " + runDir + ")");
        }
        RunData data = RunData.load(dir);
        List<String> missing = new ArrayList<>();
        for (var s : Pipeline.cdpo().stages()) if (!data.finished(s.name())) missing.add(s.name());
        if (!missing.isEmpty()) throw new CtlabException(dir + ": stages not finished: " + missing + " (re-run the same command to resume)");
        return dir;
    }

    /** The run's files as Tablesaw tables and analyses, tokens split with the run's own tokenizer. */
    public static RunTables open(Path runDir) {
        RunData data = RunData.load(runDir);
        return new RunTables(data, tokenTexts(data));
    }

    /** The results table {@code ctlab demo} prints: data, rollout, accuracy per method with paired tests. */
    public static String summary(Path runDir) {
        return Demo.resultsTable(runDir, RunConfig.load(runDir.resolve("config.yaml"), List.of()));
    }

    private static TokenTexts tokenTexts(RunData data) {
        String model = RunConfig.load(data.root().resolve("config.yaml"), List.of()).model();
        Tokenizer tok = Tokenizer.load(path(model));
        return TokenTexts.of(tok);
    }
}

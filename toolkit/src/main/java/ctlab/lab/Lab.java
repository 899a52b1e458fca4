package ctlab.lab;

import ctlab.CtlabException;
import ctlab.analysis.RunData;
import ctlab.analysis.RunTables;
import ctlab.analysis.TokenTexts;
import ctlab.model.ChatTemplate;
import ctlab.model.LlamaModel;
import ctlab.model.Tokenizer;
import ctlab.run.Pipeline;
import ctlab.run.RunConfig;
import ctlab.run.stage.Demo;
import ctlab.run.stage.Stages;
import ctlab.critical.RolloutProbe;
import ctlab.sample.Sampler;
import ctlab.sample.SamplingParams;
import ctlab.task.Grader;
import ctlab.task.Problem;
import ctlab.task.Task;
import ctlab.tasks.Tasks;

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

    /** The toolkit version ({@link ctlab.Version}: the jar manifest's, from the pom). */
    public static String version() { return ctlab.Version.get(); }

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

    /**
     * An instruct model's prompt for {@code messages}: its {@code tokenizer_config.json} chat template rendered
     * as transformers' {@code apply_chat_template(messages, tokenize=False, add_generation_prompt=True)} does,
     * e.g. {@code Lab.chat("models/qwen", Message.system("..."), Message.user(question))}. Base models have no
     * template; the pipeline's prompts stay the paper's few-shot ones.
     */
    public static String chat(String modelDir, ChatTemplate.Message... messages) {
        return chatTemplate(modelDir).render(List.of(messages), true);
    }

    /** The chat template of a model folder, to render with other options ({@link ChatTemplate#render}). */
    public static ChatTemplate chatTemplate(String modelDir) {
        return ChatTemplate.load(path(modelDir));
    }

    /** The task called {@code name}: {@code gsm8k}, {@code math}, {@code math500} or {@code organism}. */
    public static Task task(String name) {
        return Tasks.named(name);
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
        Task.Splits files = task("organism").prepareData(path(modelDir), path(dataDir), count, count, true).orElseThrow();
        return problems("organism", (split.equals("train") ? files.train() : files.test()).toString(), n);
    }

    // ---- named options (instead of positional records in notebook cells) -------------------------------

    /**
     * Sampling settings with named options, defaults as the pipeline's {@code sample} stage: temperature 1,
     * top-p 0.95, top-k off, 160 new tokens, the task's default stop strings, seed 0. E.g.
     * {@code Lab.sampling(8).maxNewTokens(160).seed(7).params()}.
     */
    public static Sampling sampling(int n) { return new Sampling(n); }

    /** Builder of {@link SamplingParams}; see {@link #sampling(int)}. */
    public static final class Sampling {
        private final int n;
        private double temperature = 1.0, topP = 0.95;
        private int topK = 0, maxNewTokens = 160;
        private List<String> stop = ctlab.task.Prompts.STOP_STRINGS;
        private long seed = 0;

        private Sampling(int n) { this.n = n; }

        public Sampling temperature(double t) { temperature = t; return this; }
        public Sampling topP(double p) { topP = p; return this; }
        public Sampling topK(int k) { topK = k; return this; }
        public Sampling maxNewTokens(int m) { maxNewTokens = m; return this; }
        public Sampling stop(List<String> s) { stop = s; return this; }
        /** The task's stop strings. */
        public Sampling stop(Task task) { stop = task.stopStrings(); return this; }
        public Sampling seed(long s) { seed = s; return this; }

        /** The settings, validated (errors name the field). */
        public SamplingParams params() { return new SamplingParams(n, temperature, topP, topK, maxNewTokens, stop, seed); }
    }

    /**
     * Rollout-probe settings with named options, defaults as the pipeline's {@code rollout} stage: {@code k}
     * continuations per side sampled at temperature 1 / top-p 0.95, 128 new tokens, every position, a baseline,
     * the official reset above 1 of k. E.g. {@code Lab.rollout(8).stride(4).seed(11).probe(model, task)}.
     */
    public static Rollout rollout(int k) { return new Rollout(k); }

    /** Builder of a {@link RolloutProbe.Config} (and a probe); see {@link #rollout(int)}. */
    public static final class Rollout {
        private final int k;
        private final Sampling sampling;
        private int stride = 1;
        private int[] positions;
        private boolean baseline = true, continuationOnly = false;
        private Double resetFraction;

        private Rollout(int k) {
            this.k = k;
            this.sampling = new Sampling(Math.max(k, 1)).maxNewTokens(128);
        }

        /** Probe every {@code s}-th response position. */
        public Rollout stride(int s) { stride = s; return this; }
        /** Probe exactly these response positions (instead of a stride). */
        public Rollout positions(int... p) { positions = p.clone(); return this; }
        public Rollout temperature(double t) { sampling.temperature(t); return this; }
        public Rollout topP(double p) { sampling.topP(p); return this; }
        public Rollout topK(int t) { sampling.topK(t); return this; }
        public Rollout maxNewTokens(int m) { sampling.maxNewTokens(m); return this; }
        public Rollout stop(List<String> s) { sampling.stop(s); return this; }
        public Rollout stop(Task task) { sampling.stop(task); return this; }
        public Rollout seed(long s) { sampling.seed(s); return this; }
        /** Also sample k continuations of the whole prompt (the trajectory's baseline correctness). */
        public Rollout baseline(boolean b) { baseline = b; return this; }
        /** Fraction of correct continuations above which the official rule resets (default 1/k). */
        public Rollout resetFraction(double f) { resetFraction = f; return this; }
        public Rollout continuationOnly(boolean c) { continuationOnly = c; return this; }

        /** The settings, validated (errors name the field). */
        public RolloutProbe.Config config() {
            if (k < 1) throw new CtlabException("rollout: k must be >= 1, got " + k);
            return new RolloutProbe.Config(k, sampling.params(), stride, positions, baseline,
                    resetFraction != null ? resetFraction : 1.0 / k, continuationOnly);
        }

        /** A probe on {@code model} that grades continuations with {@code task}'s grader. */
        public RolloutProbe probe(LlamaModel model, Task task) {
            RolloutProbe.Config c = stopDefault(task).config();
            return new RolloutProbe(new Sampler(model), c, (text, ref) -> Grader.grade(task, ref, text).equal());
        }

        private Rollout stopDefault(Task task) {
            if (sampling.stop == ctlab.task.Prompts.STOP_STRINGS) sampling.stop(task);
            return this;
        }
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
        List<String> taskData = Demo.dataOverrides(c, path(c.model()), dir);
        all.addAll(taskData);
        if (taskData.isEmpty()) {
            if (c.data().train() != null && !Path.of(c.data().train()).isAbsolute()) all.add("data.train=" + path(c.data().train()));
            if (c.data().test() != null && !Path.of(c.data().test()).isAbsolute()) all.add("data.test=" + path(c.data().test()));
        }
        RunConfig resolved = RunConfig.load(cfg, all);
        List<Pipeline.Outcome> outcomes = Stages.pipeline().run(resolved, dir, Pipeline.Options.defaults().withConsole(System.out::println));
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
        for (var s : Stages.pipeline().stages()) if (!data.finished(s.name())) missing.add(s.name());
        if (!missing.isEmpty()) throw new CtlabException(dir + ": stages not finished: " + missing + " (re-run the same command to resume)");
        return dir;
    }

    /**
     * The run a notebook reads: {@code runDir} when it is there (it must be finished, see {@link #finishedRun});
     * when it is not (a fresh clone), one line says so and the fast run is made from {@code fastConfig} into
     * {@code fastRunDir} instead ({@link #run}: about a minute, stages already done are skipped).
     */
    public static Path finishedRunOr(String runDir, String fastConfig, String fastRunDir) {
        if (Files.exists(path(runDir))) return finishedRun(runDir);
        System.out.println(relative(path(runDir)) + " is not here (make it with: bin/ctlab demo --config CONFIG --run-dir "
                + runDir + ", or ablate: the command is beside the notebook's parameters); using the fast run "
                + fastRunDir + " of " + fastConfig + " instead");
        return run(fastConfig, fastRunDir);
    }

    /** {@code p} relative to {@link #root()} when it lies under it (what a notebook shows: the same on every clone). */
    public static String relative(Path p) {
        Path abs = p.toAbsolutePath().normalize(), root = root();
        return abs.startsWith(root) ? root.relativize(abs).toString() : abs.toString();
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

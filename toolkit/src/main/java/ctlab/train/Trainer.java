package ctlab.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.io.Progress;
import ctlab.model.Param;
import ctlab.model.Scalars;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The one training loop every ctlab trainer uses (SFT, the DPO family, organism pretraining).
 *
 * <p>Per optimizer step: re-seed the engine RNG from (seed, step); for each of up to
 * {@code gradient_accumulation_steps} micro-batches, compute the task's loss in a per-step NDManager under a
 * GradientCollector and back-propagate {@code loss / k} (k = micro-batches in this step, so the gradient is
 * that of the mean loss); stop on a non-finite loss; clip the global gradient norm (stop if it is not
 * finite); AdamW step with {@code lr * schedule.factor(step)}; zero the gradients; append one metrics.jsonl
 * record per {@code log_every} steps; save a checkpoint every {@code checkpoint_every} steps, at the end,
 * and when the thread is interrupted (checked at step boundaries, the notebook kernel's stop button).
 *
 * <p>Resuming: {@link #fit} continues from the newest checkpoint under {@code outDir/checkpoints} and
 * reproduces the uninterrupted run exactly (same parameters, moments, schedule position, data order and
 * RNG stream), given the same thread counts.
 *
 * <p>Layout of {@code outDir}: {@code metrics.jsonl}, {@code checkpoints/checkpoint-<step>/}.
 */
public final class Trainer {
    public static final String METRICS_FILE = "metrics.jsonl";
    public static final String CHECKPOINTS_DIR = "checkpoints";
    /** Names the RNG derivation stored in trainer_state.json; bump if {@link #stepSeed}/{@link #epochOrder} change. */
    static final String RNG_SCHEME = "ctlab-v1: engine seed = mix(seed, step) before each step; "
            + "micro-batch order = Fisher-Yates with SplittableRandom(mix(seed, epoch))";

    private final TrainConfig config;
    private Consumer<Map<String, Object>> listener = r -> {};

    public Trainer(TrainConfig config) { this.config = Objects.requireNonNull(config, "config"); }

    public TrainConfig config() { return config; }

    /** Receives every metrics record as it is written (e.g. a notebook's live loss plot). */
    public Trainer onMetrics(Consumer<Map<String, Object>> listener) {
        this.listener = Objects.requireNonNull(listener);
        return this;
    }

    /** Optimizer steps a run over {@code numMicroBatches} micro-batches takes with this config. */
    public int totalSteps(int numMicroBatches) {
        int stepsPerEpoch = (numMicroBatches + config.gradAccum() - 1) / config.gradAccum();
        return config.maxSteps() > 0 ? config.maxSteps() : Math.multiplyExact(config.epochs(), stepsPerEpoch);
    }

    /**
     * Trains {@code task} to the end (or until interrupted), resuming from the newest checkpoint in
     * {@code outDir} if there is one. On interrupt a checkpoint is saved, the thread's interrupt flag is
     * restored (so callers up the stack stop too) and the result says {@code interrupted}.
     *
     * @throws TrainingDivergedException when a loss or the gradient norm is NaN/Inf
     * @throws CtlabException            when the checkpoint does not fit this task/config
     */
    public <B> TrainResult fit(TrainingTask<B> task, Path outDir) {
        boolean stopRequested = Thread.interrupted();   // cleared now so file I/O below is not aborted
        List<Param> params = List.copyOf(task.params());
        if (params.isEmpty()) throw new IllegalArgumentException("the training task has no trainable parameters");
        int n = task.numMicroBatches();
        if (n < 1) throw new CtlabException("training data is empty: the task has no micro-batches");
        int total = totalSteps(n);
        int warmup = Schedule.resolveWarmup(config.warmupSteps(), config.warmupRatio(), total);
        Schedule schedule = new Schedule(config.schedule(), warmup, total);
        Path checkpoints = outDir.resolve(CHECKPOINTS_DIR);
        Path metricsFile = outDir.resolve(METRICS_FILE);
        NDArray first = params.get(0).array();
        Engine engine = first.getManager().getEngine();
        for (Param p : params) {
            if (!p.array().hasGradient()) p.array().setRequiresGradient(true);
            zeroGrad(p.array());
        }

        try (AdamW optimizer = new AdamW(params, config.beta1(), config.beta2(), config.eps(), config.weightDecay());
             NDManager stepRoot = NDManager.newBaseManager(first.getDevice())) {
            stepRoot.setName("trainer-steps");
            int step = 0;
            int epoch = 0;
            int pos = 0;
            Path lastCheckpoint = null;
            Optional<Path> latest = Checkpoint.latest(checkpoints);
            if (latest.isPresent()) {
                TrainerState saved = Checkpoint.readState(latest.get());
                checkResumable(saved, latest.get(), n, total);
                Checkpoint.restore(latest.get(), saved, params, optimizer);
                step = saved.step();
                epoch = saved.epoch();
                pos = saved.batchPosition();
                lastCheckpoint = latest.get();
            }
            int startStep = step;
            truncateMetrics(metricsFile, startStep);
            if (step >= total) {                            // finished earlier: nothing to do
                if (stopRequested) Thread.currentThread().interrupt();
                return new TrainResult(step, total, startStep, false, Double.NaN, lastCheckpoint);
            }

            int[] order = epochOrder(n, epoch);
            Window window = new Window();
            double lastLoss = Double.NaN;
            double lr = 0;
            long tokensRun = 0;
            long startNanos = System.nanoTime();
            int savedStep = lastCheckpoint == null ? -1 : startStep;
            try (MetricsAppender metrics = new MetricsAppender(metricsFile);
                 Progress progress = Progress.start(startStep == 0 ? "train" : "train (resumed at step " + startStep + ")",
                         total - startStep)) {
                while (step < total) {
                    stopRequested |= Thread.interrupted();
                    if (stopRequested) break;
                    engine.setRandomSeed(stepSeed(config.seed(), step));
                    int k = Math.min(config.gradAccum(), n - pos);
                    lr = config.lr() * schedule.factor(step);
                    double lossSum = 0;
                    long tokens = 0;
                    Map<String, Double> taskMetrics = new TreeMap<>();
                    double gradNorm;
                    try (NDManager stepManager = stepRoot.newSubManager()) {
                        for (int i = 0; i < k; i++) {
                            B batch = task.microBatch(order[pos + i]);
                            Map<String, Double> mbMetrics = new LinkedHashMap<>();
                            double loss;
                            try (GradientCollector collector = engine.newGradientCollector()) {
                                NDArray lossArray = task.loss(stepManager, batch, mbMetrics);
                                if (lossArray.getShape().size() != 1) {
                                    throw new IllegalStateException("task loss must be a scalar, got shape " + lossArray.getShape());
                                }
                                loss = lossArray.getFloat();
                                if (!Double.isFinite(loss)) {
                                    zeroGrads(params);
                                    throw diverged(metrics, step, loss, Double.NaN, lr, lastCheckpoint);
                                }
                                collector.backward(k == 1 ? lossArray : Scalars.div(lossArray, k));
                                task.afterBackward();   // the layers' recompute under activation checkpointing
                            }
                            lossSum += loss;
                            tokens += task.tokens(batch);
                            mbMetrics.forEach((key, v) -> taskMetrics.merge(key, v / k, Double::sum));
                        }
                        List<NDArray> grads = new ArrayList<>(params.size());
                        for (Param p : params) {
                            NDArray g = p.array().getGradient();   // a new handle on the param's manager:
                            g.attach(stepManager);                 // move it so it is closed with the step
                            grads.add(g);
                        }
                        gradNorm = GradClip.clipGlobalNorm(grads, config.maxGradNorm());
                        if (!Double.isFinite(gradNorm)) {
                            zeroGrads(params);
                            throw diverged(metrics, step, lossSum / k, gradNorm, lr, lastCheckpoint);
                        }
                        optimizer.step(lr, grads);
                        zeroGrads(params);
                    }
                    step++;
                    pos += k;
                    if (pos >= n) {
                        epoch++;
                        pos = 0;
                        order = epochOrder(n, epoch);
                    }
                    lastLoss = lossSum / k;
                    tokensRun += tokens;
                    window.add(lastLoss, gradNorm, lr, tokens, taskMetrics);
                    stopRequested |= Thread.interrupted();    // before any file I/O: interruptible channels abort
                    boolean end = step == total || stopRequested;
                    if (step % config.logEvery() == 0 || end) {
                        Map<String, Object> record = window.record(step, epoch + (double) pos / n,
                                (System.nanoTime() - startNanos) / 1e9, LiveArrays.count(stepRoot));
                        metrics.append(record);
                        listener.accept(record);
                        window = new Window();
                    }
                    double seconds = (System.nanoTime() - startNanos) / 1e9;
                    progress.set(step - startStep, String.format(Locale.ROOT, "loss %.4f  lr %.2e", lastLoss, lr)
                            + (tokensRun > 0 ? String.format(Locale.ROOT, "  %.0f tok/s", tokensRun / seconds) : ""));
                    if ((config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0) || end) {
                        lastCheckpoint = save(task, checkpoints, params, optimizer, step, total, epoch, pos, n,
                                schedule, lr);
                        savedStep = step;
                    }
                }
                if (stopRequested && savedStep != step) {
                    lastCheckpoint = save(task, checkpoints, params, optimizer, step, total, epoch, pos, n, schedule, lr);
                }
            }
            if (stopRequested) Thread.currentThread().interrupt();
            return new TrainResult(step, total, startStep, stopRequested, lastLoss, lastCheckpoint);
        }
    }

    private <B> Path save(TrainingTask<B> task, Path checkpoints, List<Param> params, AdamW optimizer, int step,
                          int total, int epoch, int pos, int n, Schedule schedule, double lastLr) {
        List<TrainerState.ParamShape> shapes = params.stream()
                .map(p -> new TrainerState.ParamShape(p.name(), p.array().getShape().getShape())).toList();
        TrainerState state = new TrainerState(step, total, epoch, pos, n, schedule.warmupSteps(),
                schedule.factor(step), lastLr, new TrainerState.Rng(config.seed(), RNG_SCHEME), config, shapes,
                versions(), threads(),
                Instant.now().toString());
        return Checkpoint.save(checkpoints, state, params, optimizer, task::writeCheckpointExtras,
                config.keepCheckpoints());
    }

    /** Thread counts in a fixed key order, so the same run writes the same bytes (Map.of's order varies per JVM). */
    static Map<String, Integer> threads() {
        Map<String, Integer> t = new LinkedHashMap<>();
        t.put("intra_op", JniUtils.getNumThreads());
        t.put("inter_op", JniUtils.getNumInteropThreads());
        return t;
    }

    static Map<String, String> versions() {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("ctlab", ctlab.Version.get());
        v.put("djl", Engine.getDjlVersion());
        v.put("pytorch", Engine.getInstance().getVersion());
        v.put("java", System.getProperty("java.version"));
        return v;
    }

    /** Resuming is exact only with the same numeric config and data size; say which key differs. */
    private void checkResumable(TrainerState saved, Path dir, int n, int total) {
        Path file = dir.resolve(Checkpoint.STATE_FILE);
        var now = numericKeys(config).toJson();
        var then = numericKeys(saved.config()).toJson();
        List<String> diffs = new ArrayList<>();
        for (Iterator<String> it = now.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!now.get(key).equals(then.get(key))) diffs.add(key + ": checkpoint " + then.get(key) + ", now " + now.get(key));
        }
        if (!diffs.isEmpty()) {
            throw new CtlabException(file + ": cannot resume, the training config changed (" + String.join("; ", diffs)
                    + "). Use a new output directory or restore the old values.");
        }
        if (saved.microBatchesPerEpoch() != n) {
            throw new CtlabException(file + ": cannot resume, the checkpoint was trained on "
                    + saved.microBatchesPerEpoch() + " micro-batches per epoch and the task now has " + n);
        }
        if (saved.totalSteps() != total) {
            throw new CtlabException(file + ": cannot resume, total_steps " + saved.totalSteps() + " in the checkpoint, " + total + " now");
        }
    }

    /** The config without the keys that do not change the numbers (checkpoint and log cadence). */
    private static TrainConfig numericKeys(TrainConfig c) {
        return c.toBuilder().checkpointEvery(0).keepCheckpoints(1).logEvery(1).build();
    }

    /** Engine seed of step {@code step}: a SplitMix64 mix of (seed, step), so a resumed run re-derives it. */
    static int stepSeed(long seed, int step) {
        return (int) (mix(seed ^ 0x5851F42D4C957F2DL * (step + 1L)) >>> 33);
    }

    /** Micro-batch order of {@code epoch}: seeded Fisher-Yates shuffle, or identity without shuffling. */
    int[] epochOrder(int n, int epoch) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (!config.shuffle()) return order;
        SplittableRandom rnd = new SplittableRandom(mix(config.seed() + 0x9E3779B97F4A7C15L * (epoch + 1L)));
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Zeroes accumulated gradients in place. Not {@code GradientCollector.zeroGradients()}: in DJL 0.36's
     * PyTorch engine it walks every array in the process and leaks two {@code getGradient()} handles per
     * parameter per call. {@code zero_()} also clears NaN (which {@code g - g} would keep).
     */
    static void zeroGrad(NDArray array) {
        if (!array.hasGradient()) return;
        if (array instanceof PtNDArray pt) {
            JniUtils.zeroGrad(pt);
        } else {
            try (NDArray g = array.getGradient()) { g.muli(0); }
        }
    }

    private static void zeroGrads(List<Param> params) {
        for (Param p : params) zeroGrad(p.array());
    }

    private TrainingDivergedException diverged(MetricsAppender metrics, int step, double loss, double gradNorm,
                                               double lr, Path lastCheckpoint) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("step", step + 1);
        record.put("diverged", true);
        record.put("loss", finiteOrString(loss));
        record.put("grad_norm", finiteOrString(gradNorm));
        record.put("lr", lr);
        Thread.interrupted();            // the record must reach the file even if a stop was requested meanwhile
        metrics.append(record);
        return new TrainingDivergedException(step, loss, gradNorm, lr, lastCheckpoint);
    }

    private static Object finiteOrString(double v) { return Double.isFinite(v) ? v : String.valueOf(v); }

    /** Keeps metrics.jsonl consistent with the checkpoint being resumed: records of later steps are dropped. */
    private static void truncateMetrics(Path file, int keepUpToStep) {
        if (!Files.exists(file)) return;
        List<Object> kept = new ArrayList<>();
        for (Jsonl.Line line : Jsonl.readLenient(file)) {
            if (line.json().path("step").asInt(Integer.MAX_VALUE) <= keepUpToStep) kept.add(line.json());
        }
        Jsonl.writeAll(file, kept);
    }

    /** Sums over a logging window of optimizer steps. */
    private static final class Window {
        int steps;
        double loss;
        double gradNorm;
        double lr;
        long tokens;
        final long startNanos = System.nanoTime();
        final Map<String, Double> task = new TreeMap<>();

        void add(double stepLoss, double stepGradNorm, double stepLr, long stepTokens, Map<String, Double> taskMetrics) {
            steps++;
            loss += stepLoss;
            gradNorm = stepGradNorm;
            lr = stepLr;
            tokens += stepTokens;
            taskMetrics.forEach((k, v) -> task.merge(k, v, Double::sum));
        }

        Map<String, Object> record(int step, double epoch, double elapsedSeconds, int liveArrays) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("step", step);
            r.put("epoch", epoch);
            r.put("loss", loss / steps);
            r.put("lr", lr);
            r.put("grad_norm", gradNorm);
            task.forEach((k, v) -> r.put(k, v / steps));
            if (tokens > 0) {
                r.put("tokens", tokens);
                r.put("tokens_per_s", tokens / Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9));
            }
            r.put("elapsed_s", elapsedSeconds);
            r.put("live_arrays", liveArrays);
            return r;
        }
    }

    /**
     * One flushed JSON line per record. Not {@link Jsonl.Appender}: that writes through an NIO channel, which
     * an interrupt (the kernel's stop button) closes mid-write; a plain FileOutputStream is not interruptible.
     */
    private static final class MetricsAppender implements AutoCloseable {
        private final OutputStream out;

        MetricsAppender(Path file) {
            try {
                Files.createDirectories(file.toAbsolutePath().getParent());
                out = new FileOutputStream(file.toFile(), true);
            } catch (IOException e) {
                throw new UncheckedIOException("opening " + file, e);
            }
        }

        void append(Map<String, Object> record) {
            try {
                out.write((Jsonl.toLine(record) + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override public void close() {
            try { out.close(); } catch (IOException e) { throw new UncheckedIOException(e); }
        }
    }
}

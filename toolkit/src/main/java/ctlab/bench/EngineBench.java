package ctlab.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * {@code ctlab bench}: measures ctlab's engine and the PyTorch-eager reference (HF LlamaForCausalLM through
 * tools/bench/bench_torch.py) on the same model config, each side in a fresh child process per thread
 * setting (OMP_WAIT_POLICY only takes effect at process start), interleaved ctlab, torch, ctlab, torch... so
 * a change in machine load hits both sides alike. The {@link BenchReport} compares each side at its best
 * setting per phase.
 */
public final class EngineBench {
    /** Marks the one JSON result line a worker prints on stdout (both sides). */
    public static final String RESULT_MARKER = "CTLAB_BENCH_RESULT ";
    static final String TORCH_SCRIPT = "tools/bench/bench_torch.py";
    /** The engine phases; the workers measure them together (any one of them selects all three). */
    public static final List<String> ENGINE_PHASES = List.of("forward", "decode", "train");

    /**
     * @param python       Python interpreter with torch and transformers; null skips the reference
     * @param torchScript  bench_torch.py; null: found next to this build (repo/tools/bench)
     * @param torchAttn    HF attention implementations to try (comma-separated, e.g. {@code sdpa,eager})
     * @param profilePhase phase to also run under each side's profiler ("" for none)
     * @param jvmArgs      extra JVM options of the ctlab worker (heap, GC)
     * @param rounds       repeats of the whole interleaved sweep; the best iteration over all rounds counts
     * @param phases       {@link #ENGINE_PHASES} (forward, decode, train: measured together) and/or {@code sample}
     * @param sampleSpec   the {@code sample} phase's workload ({@link SampleBench#organism}); null when not measured
     */
    public record Options(BenchConfig config, List<ThreadSetting> settings, String python, Path torchScript,
                          String torchAttn, String profilePhase, List<String> jvmArgs, Duration timeout, int rounds,
                          List<String> phases, SampleBench.Spec sampleSpec) {
        public Options {
            for (String p : phases) {
                if (!ENGINE_PHASES.contains(p) && !p.equals(SampleBench.PHASE)) {
                    throw new CtlabException("bench: --phases: unknown phase '" + p + "' (forward, decode, train, sample)");
                }
            }
            boolean engine = phases.stream().anyMatch(ENGINE_PHASES::contains);
            List<String> all = new ArrayList<>(engine ? ENGINE_PHASES : List.of());   // the workers run these together
            if (phases.contains(SampleBench.PHASE)) all.add(SampleBench.PHASE);
            phases = List.copyOf(all);
            if (phases.isEmpty()) throw new CtlabException("bench: --phases is empty");
            if (phases.contains(SampleBench.PHASE) && sampleSpec == null) throw new IllegalArgumentException("sample phase without a spec");
            if (rounds < 1) throw new CtlabException("bench: --rounds must be >= 1, got " + rounds);
            Objects.requireNonNull(config, "config");
            settings = List.copyOf(settings);
            if (settings.isEmpty()) throw new CtlabException("bench: no thread settings");
            jvmArgs = List.copyOf(jvmArgs);
            profilePhase = profilePhase == null ? "" : profilePhase;
        }
    }

    private EngineBench() {}

    /** Runs every (side, setting) in a child process; progress lines go to {@code log}. */
    public static BenchReport run(Options o, PrintStream log) {
        Path work;
        try {
            work = Files.createTempDirectory("ctlab-bench");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            Path hfConfig = work.resolve("config.json");
            Path benchConfig = work.resolve("bench.json");
            AtomicFiles.writeString(hfConfig, o.config().hfConfigJson().toPrettyString());
            AtomicFiles.writeString(benchConfig, Jsonl.MAPPER.writeValueAsString(o.config()));
            Path sampleSpec = work.resolve("sample.json");
            if (o.sampleSpec() != null) AtomicFiles.writeString(sampleSpec, Jsonl.MAPPER.writeValueAsString(o.sampleSpec()));
            String skipped = null;
            Path script = null;
            if (o.python() == null) {
                skipped = "no --python given";
            } else {
                script = o.torchScript() != null ? o.torchScript() : findTorchScript();
                if (script == null || !Files.isRegularFile(script)) {
                    skipped = TORCH_SCRIPT + " not found" + (script == null ? " next to this build" : " at " + script)
                            + " (give --torch-script)";
                } else {
                    skipped = checkPython(o.python(), work);
                }
            }
            if (skipped != null) log.println("bench: PyTorch reference skipped: " + skipped);
            BenchReport report = new BenchReport(o.config(), skipped);
            for (int round = 1; round <= o.rounds(); round++) {
                for (ThreadSetting s : o.settings()) {
                    log.println("bench: round " + round + "/" + o.rounds() + ", ctlab, " + s.label() + " (load " + loadAverage() + ")");
                    report.add(round, runChild(javaCommand(o, s, benchConfig, sampleSpec), s, work, "ctlab", o.timeout()));
                    if (skipped == null) {
                        log.println("bench: round " + round + "/" + o.rounds() + ", torch, " + s.label() + " (load " + loadAverage() + ")");
                        report.add(round, runChild(pythonCommand(o, s, script, hfConfig, sampleSpec), s, work, "torch", o.timeout()));
                    }
                }
            }
            return report;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteQuietly(work);
        }
    }

    private static List<String> javaCommand(Options o, ThreadSetting s, Path benchConfig, Path sampleSpec) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(o.jvmArgs());
        cmd.add("-Dai.djl.pytorch.num_threads=" + s.threads());
        cmd.add("-Dai.djl.pytorch.num_interop_threads=1");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("ctlab.cli.Main");
        cmd.add("bench");
        cmd.add("--worker=" + benchConfig);
        cmd.add("--phases=" + String.join(",", o.phases()));
        if (o.sampleSpec() != null) cmd.add("--sample-spec=" + sampleSpec);
        if (!o.profilePhase().isEmpty()) cmd.add("--profile=" + o.profilePhase());
        return cmd;
    }

    private static List<String> pythonCommand(Options o, ThreadSetting s, Path script, Path hfConfig, Path sampleSpec) {
        BenchConfig c = o.config();
        List<String> cmd = new ArrayList<>(List.of(o.python(), script.toString(), "--config", hfConfig.toString(),
                "--batch", str(c.batch()), "--seq", str(c.seq()), "--prompt", str(c.prompt()), "--new", str(c.newTokens()),
                "--decode-batches", String.join(",", c.decodeBatches().stream().map(String::valueOf).toList()),
                "--warmup", str(c.warmup()), "--iters", str(c.iters()), "--decode-iters", str(c.decodeIters()),
                "--threads", str(s.threads()), "--interop-threads", "1", "--attn", o.torchAttn(),
                "--seed", String.valueOf(c.seed()), "--lr", String.valueOf(BenchConfig.LR),
                "--weight-decay", String.valueOf(BenchConfig.WEIGHT_DECAY)));
        cmd.addAll(List.of("--phases", String.join(",", o.phases())));
        if (o.sampleSpec() != null) cmd.addAll(List.of("--sample-spec", sampleSpec.toString()));
        if (!o.profilePhase().isEmpty()) cmd.addAll(List.of("--profile", o.profilePhase()));
        return cmd;
    }

    private static String str(int v) { return String.valueOf(v); }

    /** Runs one worker; its result lines, each with the setting and the load average before and after. */
    private static List<ObjectNode> runChild(List<String> cmd, ThreadSetting s, Path work, String side, Duration timeout)
            throws IOException {
        Path out = Files.createTempFile(work, side + "-", ".out");
        Path err = Files.createTempFile(work, side + "-", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        s.applyTo(pb.environment());
        String loadBefore = loadAverage();
        Process p = pb.start();
        Thread killChild = new Thread(p::destroyForcibly);   // Ctrl-C on the bench must not orphan a worker
        Runtime.getRuntime().addShutdownHook(killChild);
        try {
            if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new CtlabException("bench: " + side + " worker (" + s.label() + ") did not finish within "
                        + timeout.toMinutes() + " min; stderr tail:\n" + tail(err));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CtlabException("bench interrupted");
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(killChild);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
        String loadAfter = loadAverage();
        List<ObjectNode> results = new ArrayList<>();
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            if (!line.startsWith(RESULT_MARKER)) continue;
            JsonNode n = Jsonl.MAPPER.readTree(line.substring(RESULT_MARKER.length()));
            if (!(n instanceof ObjectNode r)) throw new IllegalStateException(side + " worker printed a non-object result");
            r.put("setting", s.label());
            r.put("load_before", loadBefore);
            r.put("load_after", loadAfter);
            results.add(r);
        }
        if (p.exitValue() != 0 || results.isEmpty()) {
            throw new CtlabException("bench: " + side + " worker (" + s.label() + ") failed with exit code "
                    + p.exitValue() + "; command: " + String.join(" ", cmd) + "\nstderr tail:\n" + tail(err));
        }
        return results;
    }

    /** null when {@code python} can import torch and transformers, else why not. */
    private static String checkPython(String python, Path work) {
        try {
            Path log = work.resolve("python-check.log");
            Process p = new ProcessBuilder(python, "-c", "import torch, transformers")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return python + " took over 3 min to import torch and transformers";
            }
            if (p.exitValue() != 0) return python + " cannot import torch and transformers: " + tail(log).strip();
            return null;
        } catch (IOException e) {
            return "cannot run " + python + " (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** tools/bench/bench_torch.py of the checkout this build came from (or the working directory's). */
    static Path findTorchScript() { return findInCheckout(TORCH_SCRIPT); }

    /** {@code relative} (a file or folder) in the checkout this build came from (or the working directory's), or null. */
    public static Path findInCheckout(String relative) {
        List<Path> starts = new ArrayList<>();
        try {
            starts.add(Path.of(EngineBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
        } catch (URISyntaxException | RuntimeException ignored) {
            // no code source: fall back to the working directory
        }
        starts.add(Path.of("").toAbsolutePath());
        for (Path start : starts) {
            for (Path d = start; d != null; d = d.getParent()) {
                Path candidate = d.resolve(relative);
                if (Files.exists(candidate)) return candidate;
            }
        }
        return null;
    }

    /** JVM options of this process worth passing to the worker (heap and GC flags). */
    public static List<String> inheritedJvmArgs() {
        List<String> out = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // heap settings, and the engine's kernel choice (-Dctlab.kernels, TorchScriptKernels) so workers measure it
            if (a.startsWith("-Xmx") || a.startsWith("-Xms") || a.startsWith("-XX:") || a.startsWith("-Dctlab.kernels=")) out.add(a);
        }
        return out;
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // temp leftovers are harmless
        }
    }
}

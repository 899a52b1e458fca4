package ctlab.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ctlab.CtlabException;

import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Device selection: {@code cpu}, {@code gpu} (or {@code gpu:N}) or {@code auto}. The default comes from the
 * system property {@code ctlab.device} (the notebook's {@code %device} magic sets it), then the environment
 * variable {@code CTLAB_DEVICE}, then cpu.
 *
 * <p>DJL silently runs on the CPU when the PyTorch native on the classpath is the CPU build; asking for a
 * GPU then stops with the flavour found and how to swap it in (docs/gpu.md).
 *
 * <p>Under the command line, the first model made in a JVM ({@link #inUse}) prints one line on stderr naming the
 * libtorch and device in use ({@link #describe}): the launcher's {@code --torch DIR} and {@code --gpu} modes change
 * which libtorch DJL loads.
 */
public final class Devices {
    public static final String PROPERTY = "ctlab.device";
    public static final String ENV = "CTLAB_DEVICE";

    private static final AtomicBoolean ANNOUNCED = new AtomicBoolean();

    private Devices() {}

    /** The device named by {@code ctlab.device}, else {@code CTLAB_DEVICE}, else cpu. */
    public static Device fromEnvironment() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) return resolve(p, "system property " + PROPERTY);
        String e = System.getenv(ENV);
        if (e != null && !e.isBlank()) return resolve(e, "environment variable " + ENV);
        return Device.cpu();
    }

    /** Resolves a device spec; {@code source} names where it came from, for error messages. */
    public static Device resolve(String spec, String source) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) return Device.cpu();
        if (s.equals("auto")) return gpuCount() > 0 ? Device.gpu() : Device.cpu();
        if (s.equals("gpu") || s.equals("cuda") || s.startsWith("gpu:") || s.startsWith("cuda:")) {
            int idx = 0;
            int colon = s.indexOf(':');
            if (colon >= 0) {
                try {
                    idx = Integer.parseInt(s.substring(colon + 1));
                } catch (NumberFormatException e) {
                    throw new CtlabException(source + ": bad device '" + spec + "' (use cpu, gpu, gpu:N or auto)");
                }
            }
            int n = gpuCount();
            if (n == 0) {
                throw new CtlabException(source + " asks for '" + spec + "' but the PyTorch engine loaded its '"
                        + loadedFlavor() + "' build (" + libtorchPath() + "), which sees no GPU. Start with "
                        + "bin/ctlab --gpu (DJL fetches its CUDA build) or --torch DIR (an installed CUDA torch "
                        + Engine.getInstance().getVersion() + "), see docs/gpu.md; or use cpu.");
            }
            if (idx < 0 || idx >= n) {
                throw new CtlabException(source + ": device '" + spec + "' but only " + n + " GPU(s) are visible");
            }
            return Device.gpu(idx);
        }
        throw new CtlabException(source + ": unknown device '" + spec + "' (use cpu, gpu, gpu:N or auto)");
    }

    /** Resolves a spec typed by a user (CLI flag, notebook). */
    public static Device resolve(String spec) { return resolve(spec, "device"); }

    /**
     * Called where a model is made on {@code d} (the engine starts there): turns an engine that does not start into
     * a one-line error and, under the command line ({@link #printStartupLine}), prints the startup line
     * ({@link #describe}) on stderr, once per JVM.
     */
    public static Device inUse(Device d) {
        engine();
        if (startupLine && !ANNOUNCED.get()) {
            String line = describe(d);
            if (!ANNOUNCED.getAndSet(true)) System.err.println("ctlab: " + line);
        }
        return d;
    }

    private static volatile boolean startupLine;

    /**
     * Turns the startup line on: the command line does, at start. The notebook kernel does not: its line would name
     * absolute paths in committed notebook outputs; {@code Devices.describe(device)} shows the same there.
     */
    public static void printStartupLine() { startupLine = true; }

    /** GPUs visible to the loaded engine (0 with the CPU build). */
    public static int gpuCount() { return engine().getGpuCount(); }

    /**
     * The PyTorch engine; a native library that does not load (no network for DJL's download under --gpu, a torch
     * folder missing a library) is a one-line {@link CtlabException} naming the cause, not a stack trace.
     */
    static Engine engine() {
        try {
            return Engine.getInstance();
        } catch (RuntimeException | LinkageError e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            String lib = System.getenv("PYTORCH_LIBRARY_PATH");
            throw new CtlabException("the PyTorch engine did not start" + (lib == null ? "" : " (PYTORCH_LIBRARY_PATH="
                    + lib + ")") + ": " + e.getMessage() + (root == e ? "" : ": " + root)
                    + (lib == null && nativeFlavor().equals("unknown")
                       ? " (with no native jar on the classpath, as under bin/ctlab --gpu, DJL downloads its libtorch"
                         + " from publish.djl.ai on first start: that needs network once)" : "")
                    + "; see docs/gpu.md");
        }
    }

    /**
     * Flavour of the PyTorch native build on the classpath ({@code cpu}, {@code cu128}, ...), read from the
     * native jar's {@code native/lib/pytorch.properties}; "unknown" when none is bundled.
     */
    public static String nativeFlavor() {
        try (InputStream in = Devices.class.getClassLoader().getResourceAsStream("native/lib/pytorch.properties")) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("flavor", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The folder DJL loaded libtorch from: its cache of the bundled native, or PYTORCH_LIBRARY_PATH's folder. */
    public static String libtorchPath() {
        engine();
        return ai.djl.pytorch.jni.LibUtils.getLibtorchPath();
    }

    /**
     * DJL's own cache folders: {@code <version>[-<build date>]-<flavor>-<classifier>},
     * e.g. 2.7.1-20250812-cpu-linux-x86_64.
     */
    private static final Pattern CACHE_DIR = Pattern.compile("\\d+\\.\\d+\\.\\d+(?:-\\d+)?-(.+)-(?:linux|osx|win)-[^-]+");

    /**
     * Flavour of the libtorch actually loaded: from DJL's cache folder name (bundled or downloaded native), else,
     * for a PYTORCH_LIBRARY_PATH folder, PYTORCH_FLAVOR as DJL reads it (env, then property, default cpu-precxx11).
     */
    public static String loadedFlavor() {
        Matcher m = CACHE_DIR.matcher(java.nio.file.Path.of(libtorchPath()).getFileName().toString());
        if (m.matches()) return m.group(1);
        String f = System.getenv("PYTORCH_FLAVOR");
        if (f == null) f = System.getProperty("PYTORCH_FLAVOR");
        return f == null ? "cpu-precxx11" : f;
    }

    /**
     * One line for logs and provenance: engine, version, the flavour and folder of the libtorch loaded (and, under
     * the launcher's --torch, the installed torch behind it), device. E.g. {@code PyTorch 2.7.1 (cpu build,
     * /root/.djl.ai/pytorch/2.7.1-cpu-linux-x86_64), device cpu}.
     */
    public static String describe(Device d) {
        Engine e = engine();
        String source = System.getenv("CTLAB_TORCH_SOURCE");     // set by tools/gpu/torch-env.sh
        return e.getEngineName() + " " + e.getVersion() + " (" + loadedFlavor() + " build, " + libtorchPath()
                + (source == null ? "" : " -> " + source) + "), device "
                + (d.isGpu() ? "gpu:" + d.getDeviceId() : d.getDeviceType());
    }
}

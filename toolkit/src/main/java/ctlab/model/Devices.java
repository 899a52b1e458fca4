package ctlab.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ctlab.CtlabException;

import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.Properties;

/**
 * Device selection: {@code cpu}, {@code gpu} (or {@code gpu:N}) or {@code auto}. The default comes from the
 * system property {@code ctlab.device} (the notebook's {@code %device} magic sets it), then the environment
 * variable {@code CTLAB_DEVICE}, then cpu.
 *
 * <p>DJL silently runs on the CPU when the PyTorch native on the classpath is the CPU build; asking for a
 * GPU then stops with the flavour found and how to swap it in (docs/gpu.md).
 */
public final class Devices {
    public static final String PROPERTY = "ctlab.device";
    public static final String ENV = "CTLAB_DEVICE";

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
                        + nativeFlavor() + "' build (" + nativeLocation() + "), which sees no GPU. Build with a CUDA "
                        + "native, e.g. mvn -Dpytorch.native=pytorch-native-cu128 ..., see docs/gpu.md; or use cpu.");
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

    /** GPUs visible to the loaded engine (0 with the CPU build). */
    public static int gpuCount() { return Engine.getInstance().getGpuCount(); }

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

    private static String nativeLocation() {
        try {
            Engine.getInstance();
            return ai.djl.pytorch.jni.LibUtils.getLibtorchPath();
        } catch (RuntimeException | LinkageError e) {
            return "location unknown";
        }
    }

    /** One line for logs and provenance: engine, version, native flavour, device. */
    public static String describe(Device d) {
        Engine e = Engine.getInstance();
        return e.getEngineName() + " " + e.getVersion() + " (" + nativeFlavor() + " native), device " + d;
    }
}

package ctlab.lab;

import ctlab.CtlabException;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The notebook facade: a few short, discoverable entry points over the toolkit (the Jupyter kernel imports
 * {@code ctlab.lab.*}). Nothing here loads the DJL engine; the engine reads the device choice on first use.
 */
public final class Lab {
    /** System property the toolkit's engine reads to pick its device. */
    public static final String DEVICE_PROPERTY = "ctlab.device";
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
}

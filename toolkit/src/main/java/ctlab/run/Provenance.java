package ctlab.run;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Versions recorded with every result. DJL and PyTorch versions come from the property files inside their
 * jars, so recording them never loads the native engine.
 */
public final class Provenance {
    public static final String CTLAB_VERSION = "0.1.0";

    private Provenance() {}

    public static Map<String, String> versions() {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("ctlab", CTLAB_VERSION);
        v.put(ctlab.data.DataFormat.KEY, ctlab.data.DataFormat.VERSION);
        v.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
        v.put("djl", property("/ai/djl/engine/api.properties", "djl_version"));
        String torch = property("/native/lib/pytorch.properties", "version");
        String flavor = property("/native/lib/pytorch.properties", "flavor");
        v.put("pytorch", torch + ("unknown".equals(flavor) ? "" : " (" + flavor + ")"));
        v.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        return v;
    }

    private static String property(String resource, String key) {
        try (InputStream in = Provenance.class.getResourceAsStream(resource)) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty(key, "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}

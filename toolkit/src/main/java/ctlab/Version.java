package ctlab;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The toolkit version, from one source, the pom's {@code project.version}: the jar manifest's
 * {@code Implementation-Version} (maven-jar-plugin's default entries), or, when run from {@code target/classes}
 * (tests, an IDE), the resource {@code ctlab/version.properties} that Maven's resource filtering writes.
 */
public final class Version {
    private static final String RESOURCE = "/ctlab/version.properties";

    private Version() {}

    /** E.g. {@code 0.1.0-SNAPSHOT}; "unknown" only when neither the manifest nor the resource is there. */
    public static String get() {
        String v = Version.class.getPackage().getImplementationVersion();
        if (v != null && !v.isBlank()) return v;
        try (InputStream in = Version.class.getResourceAsStream(RESOURCE)) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            v = p.getProperty("version", "");
            // an unfiltered copy (built outside Maven) still holds the placeholder
            return v.isBlank() || v.startsWith("${") ? "unknown" : v;
        } catch (IOException e) {
            return "unknown";
        }
    }
}

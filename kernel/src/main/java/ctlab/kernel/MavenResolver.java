package ctlab.kernel;

import org.apache.maven.repository.internal.MavenRepositorySystemUtils;
import org.eclipse.aether.DefaultRepositorySystemSession;
import org.eclipse.aether.RepositorySystem;
import org.eclipse.aether.artifact.DefaultArtifact;
import org.eclipse.aether.collection.CollectRequest;
import org.eclipse.aether.graph.Dependency;
import org.eclipse.aether.repository.LocalRepository;
import org.eclipse.aether.repository.RemoteRepository;
import org.eclipse.aether.resolution.ArtifactResult;
import org.eclipse.aether.resolution.DependencyRequest;
import org.eclipse.aether.resolution.DependencyResolutionException;
import org.eclipse.aether.supplier.RepositorySystemSupplier;
import org.eclipse.aether.util.artifact.JavaScopes;
import org.eclipse.aether.util.filter.DependencyFilterUtils;
import org.eclipse.aether.util.repository.SimpleResolutionErrorPolicy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code %maven group:artifact:version}: resolves an artifact and its runtime dependencies with Maven's own
 * resolver. Remote repositories: {@code -Dctlab.maven.repos} or {@code CTLAB_MAVEN_REPOS} (comma-separated URLs;
 * default Maven Central); local cache: {@code -Dctlab.maven.local} or {@code CTLAB_MAVEN_LOCAL} (default
 * {@code ~/.m2/repository}). Both are read at each call, so a notebook may set the properties. Artifacts already
 * in the cache resolve without the network.
 */
final class MavenResolver {
    static final String CENTRAL = "https://repo.maven.apache.org/maven2/";

    private MavenResolver() {}

    static List<String> remoteUrls() {
        String v = setting("ctlab.maven.repos", "CTLAB_MAVEN_REPOS");
        if (v == null || v.isBlank()) return List.of(CENTRAL);
        List<String> urls = new ArrayList<>();
        for (String u : v.split(",")) if (!u.isBlank()) urls.add(u.strip());
        return urls;
    }

    static Path localCache() {
        String v = setting("ctlab.maven.local", "CTLAB_MAVEN_LOCAL");
        return v == null || v.isBlank() ? Path.of(System.getProperty("user.home"), ".m2", "repository") : Path.of(v);
    }

    private static String setting(String property, String env) {
        String v = System.getProperty(property);
        return v != null ? v : System.getenv(env);
    }

    /** {@code group:artifact:version} (or {@code group:artifact:extension[:classifier]:version}). */
    static DefaultArtifact parse(String coords) {
        String[] parts = coords.split(":", -1);
        boolean blank = false;
        for (String p : parts) blank |= p.isBlank();
        if (parts.length < 3 || parts.length > 5 || blank)
            throw CellError.of("UsageError", "expected group:artifact:version, got '" + coords + "'");
        return new DefaultArtifact(coords);
    }

    /** The jar files of {@code coords} and its runtime dependencies, downloaded into the local cache if needed. */
    static List<Path> resolve(String coords) {
        DefaultArtifact artifact = parse(coords);
        List<String> urls = remoteUrls();
        Path local = localCache();
        RepositorySystem system = new RepositorySystemSupplier().get();
        try {
            DefaultRepositorySystemSession session = MavenRepositorySystemUtils.newSession();
            // "simple": whatever is in the cache is used, wherever it came from (so it works offline)
            session.setLocalRepositoryManager(system.newLocalRepositoryManager(session, new LocalRepository(local.toFile(), "simple")));
            // don't remember failures: a notebook retried after going online must try again
            session.setResolutionErrorPolicy(new SimpleResolutionErrorPolicy(false, false));
            session.setConfigProperty("aether.connector.connectTimeout", 10_000);
            session.setConfigProperty("aether.connector.requestTimeout", 60_000);
            List<RemoteRepository> repos = new ArrayList<>();
            for (int i = 0; i < urls.size(); i++)
                repos.add(new RemoteRepository.Builder(i == 0 ? "central" : "repo" + i, "default", urls.get(i)).build());
            CollectRequest collect = new CollectRequest(new Dependency(artifact, JavaScopes.RUNTIME), repos);
            DependencyRequest request = new DependencyRequest(collect, DependencyFilterUtils.classpathFilter(JavaScopes.RUNTIME));
            List<Path> jars = new ArrayList<>();
            for (ArtifactResult r : system.resolveDependencies(session, request).getArtifactResults()) {
                if (r.getArtifact() != null && r.getArtifact().getFile() != null) jars.add(r.getArtifact().getFile().toPath());
            }
            return jars;
        } catch (DependencyResolutionException | RuntimeException e) {
            Throwable root = rootCause(e);
            String why = root.getMessage() == null ? root.getClass().getSimpleName() : root.getClass().getSimpleName() + ": " + root.getMessage();
            boolean network = root instanceof java.io.IOException && !(root instanceof java.io.FileNotFoundException);
            throw CellError.of("MavenError", ("cannot resolve " + coords + " from " + String.join(", ", urls) + ": " + why
                    + (network ? " (offline? artifacts already in the local cache " + local + " resolve without the network;"
                                 + " CTLAB_MAVEN_REPOS / -Dctlab.maven.repos name other repositories)" : ""))
                    .replaceAll("\\s*\\R\\s*", " ").strip());
        } finally {
            system.shutdown();
        }
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t;
    }
}

package ctlab.sample.remote;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The vLLM server the integration tests talk to: {@code CTLAB_VLLM_URL} when set (nothing started), otherwise
 * tools/vllm/serve.sh started on a free loopback port with a bounded lifetime, and stopped by its PID on close.
 */
public final class VllmTestServer implements AutoCloseable {
    private final String url;
    private final Long pid;

    private VllmTestServer(String url, Long pid) { this.url = url; this.pid = pid; }

    public static boolean available() {
        return System.getenv("CTLAB_VLLM_URL") != null || System.getenv("CTLAB_VLLM_PYTHON") != null;
    }

    /** The repository root, found from the test's working directory (the module or the root). */
    public static Path root() {
        for (Path p : new Path[] {Path.of(".."), Path.of(".")}) {
            if (Files.isRegularFile(p.resolve("tools/vllm/serve.sh"))) return p.toAbsolutePath().normalize();
        }
        throw new AssertionError("tools/vllm/serve.sh not found from " + Path.of("").toAbsolutePath());
    }

    /**
     * @param model        model folder relative to the root (served under that name, as the recordings expect)
     * @param lifetimeSec  serve.sh stops the server after this many seconds whatever happens to the test
     * @param runDir       serve.sh's log and PID folder
     * @param env          extra environment for serve.sh (e.g. LoRA flags)
     */
    public static VllmTestServer startOrAttach(Path root, String model, int lifetimeSec, Path runDir,
                                               Map<String, String> env) throws IOException, InterruptedException {
        String url = System.getenv("CTLAB_VLLM_URL");
        if (url != null) return new VllmTestServer(url, null);
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) { port = s.getLocalPort(); }
        ProcessBuilder pb = new ProcessBuilder(root.resolve("tools/vllm/serve.sh").toString(), model,
                String.valueOf(port), String.valueOf(lifetimeSec)).directory(root.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("CTLAB_VLLM_RUN", runDir.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0)
            throw new AssertionError("serve.sh failed; log in " + runDir);
        return new VllmTestServer("http://127.0.0.1:" + port, Long.parseLong(out));
    }

    public String url() { return url; }

    /** TERM to serve.sh's timeout process, which passes it on to the server; waits up to a minute. */
    @Override public void close() {
        if (pid == null) return;
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
        ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(60, TimeUnit.SECONDS).join());
    }
}

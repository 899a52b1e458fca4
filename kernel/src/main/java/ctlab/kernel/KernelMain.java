package ctlab.kernel;

import org.dflib.jjava.jupyter.channels.JupyterConnection;
import org.dflib.jjava.jupyter.channels.Loop;
import org.dflib.jjava.jupyter.channels.ShellChannel;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;

import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Kernel entry point: {@code java ... ctlab.kernel.KernelMain CONNECTION_FILE} (what the kernelspec runs).
 * System properties: {@code ctlab.kernel.interruptGraceMs} (default 3000).
 */
public final class KernelMain {
    private KernelMain() {}

    public static void main(String[] args) throws Exception {
        // Quiet the base library's INFO chatter (slf4j-simple) before any logger exists.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null)
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        if (args.length != 1) {
            System.err.println("usage: KernelMain CONNECTION_FILE");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        if (!Files.isRegularFile(file)) {
            System.err.println("ctlab kernel: connection file not found: " + file);
            System.exit(2);
        }
        KernelConnectionProperties props = KernelConnectionProperties.parse(Files.readString(file));
        // Only this thread may end the JVM (below, when the connection closes); a cell's System.exit is an error.
        if (!ExitGuard.install(Thread.currentThread()))
            System.err.println("ctlab kernel: this JDK has no security manager; System.exit in a cell will end the kernel");
        long grace = Long.getLong("ctlab.kernel.interruptGraceMs", 3000L);
        CtlabKernel kernel = CtlabKernel.create(true, grace);
        JupyterConnection connection = new JupyterConnection(props);
        kernel.becomeHandlerForConnection(connection);
        connection.connect();
        guardLoops(connection);
        ShellChannel shell = channel(connection, "shell");
        if (shell != null) kernel.attachShell(connection, shell);
        // Answer kernel_info first; JShell warms up and the renderers register while the client connects.
        kernel.startEvaluator(System.getProperty("java.class.path"));
        kernel.onStartup();
        connection.waitUntilClose();
        System.exit(0);
    }

    /** The connection's "shell" or "control" socket (a protected field of the base library), or null. */
    static ShellChannel channel(JupyterConnection connection, String name) {
        try {
            Field f = JupyterConnection.class.getDeclaredField(name);
            f.setAccessible(true);
            return (ShellChannel) f.get(connection);
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("ctlab kernel: cannot reach the " + name + " socket (" + e + ")");
            return null;
        }
    }

    /**
     * The base library's channel loops die on any Throwable that escapes a message (e.g. the SecurityException
     * for a message with a wrong signature, which it rightly refuses), which would leave the kernel deaf.
     * Give the shell and control loops an error handler that logs and keeps polling.
     */
    static void guardLoops(JupyterConnection connection) {
        for (String name : new String[]{"shell", "control"}) {
            try {
                ShellChannel channel = channel(connection, name);
                if (channel == null) continue;
                Field loopField = ShellChannel.class.getDeclaredField("ioloop");
                loopField.setAccessible(true);
                Loop loop = (Loop) loopField.get(channel);
                if (loop != null) {
                    loop.onError(t -> {
                        System.err.println("ctlab kernel: dropped a " + name + " message: " + t);
                        return 10;
                    });
                }
            } catch (ReflectiveOperationException | RuntimeException e) {
                System.err.println("ctlab kernel: cannot guard the " + name + " loop (" + e + "); a bad message may stop it");
            }
        }
    }
}

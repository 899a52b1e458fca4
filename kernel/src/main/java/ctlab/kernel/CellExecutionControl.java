package ctlab.kernel;

import jdk.jshell.execution.DirectExecutionControl;
import jdk.jshell.spi.ExecutionControl;
import jdk.jshell.spi.ExecutionControlProvider;
import jdk.jshell.spi.ExecutionEnv;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;

/**
 * Runs JShell snippets in the kernel's own JVM and keeps the object each snippet returned, so the kernel can
 * render it (the default remote engine only sends back strings). The value is not turned into a string here:
 * a user {@code toString()} runs later, during rendering, where every {@link Throwable} is caught.
 *
 * <p>Force-stop: while a thread is inside user code it is registered here; {@link #forceStop} delivers
 * {@link Thread#stop()} (JDK 17) only to that thread and only while it is inside user code, so JShell's own
 * bookkeeping is never torn.
 */
final class CellExecutionControl extends DirectExecutionControl {
    private final Object stopLock = new Object();
    private Thread inUserCode;          // guarded by stopLock
    private volatile Object lastValue;
    private volatile ClassLoader snippetLoader;

    /** The class loader of snippet classes (sees %classpath jars); the cell thread's context loader. */
    ClassLoader snippetLoader() { return snippetLoader; }

    /** Returns and forgets the value of the last executed snippet (null for void/statements). */
    Object takeLastValue() {
        Object v = lastValue;
        lastValue = null;
        return v;
    }

    /** A class JShell loaded for a snippet (its wrapper class). */
    Class<?> findClassForKernel(String name) throws ClassNotFoundException { return findClass(name); }

    @Override
    protected String invoke(Method doit) throws Exception {
        try {
            Object value;
            snippetLoader = doit.getDeclaringClass().getClassLoader();
            try {
                synchronized (stopLock) { inUserCode = Thread.currentThread(); }
                value = doit.invoke(null);
            } finally {
                synchronized (stopLock) { inUserCode = null; }
            }
            lastValue = value;
            return "";
        } catch (ThreadDeath stopped) {
            // A stop can land anywhere before inUserCode is cleared, also outside the reflective call.
            synchronized (stopLock) { inUserCode = null; }
            throw new InvocationTargetException(stopped);
        }
    }

    /**
     * Stops {@code thread} if it is running user code now. Returns false when it is not (e.g. compiling) or
     * when this JDK no longer supports {@link Thread#stop()} (JDK 20+).
     */
    @SuppressWarnings({"deprecation", "removal"})
    boolean forceStop(Thread thread) {
        synchronized (stopLock) {
            if (inUserCode != thread || thread == null) return false;
            inUserCode = null;          // at most one stop per entry into user code
            try {
                thread.stop();
                return true;
            } catch (UnsupportedOperationException noStopOnThisJdk) {
                return false;
            }
        }
    }

    /** Makes JShell use this control (one instance per kernel). */
    static final class Provider implements ExecutionControlProvider {
        private final CellExecutionControl control;

        Provider(CellExecutionControl control) { this.control = control; }

        @Override public String name() { return "ctlab-cell"; }

        @Override public ExecutionControl generate(ExecutionEnv env, Map<String, String> parameters) { return control; }
    }
}

package ctlab.kernel;

import org.dflib.jjava.jupyter.channels.ShellReplyEnvironment;
import org.dflib.jjava.jupyter.kernel.JupyterIO;

import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;

/**
 * Exposes the base library's protected stream wiring to {@link CtlabKernel}'s own execute handler, with
 * {@link CellOutput}'s batched {@code out}/{@code err} and ordered {@code display} in place of the base library's
 * (one message per line): the base library's {@code replaceOutputStreams} makes them System.out/err during a
 * cell, and code that reaches them through {@code getIO()} gets the same.
 */
final class KernelIO extends JupyterIO {
    KernelIO(CellOutput output) {
        super(StandardCharsets.UTF_8);
        // The base class offers no hook for its streams; they are final fields, so set them once, here.
        replace("out", output.out);
        replace("err", output.err);
        replace("display", output.displayStream());
    }

    private void replace(String field, Object value) {
        try {
            Field f = JupyterIO.class.getDeclaredField(field);
            f.setAccessible(true);
            f.set(this, value);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("jjava-jupyter changed: cannot set JupyterIO." + field, e);
        }
    }

    void attach(ShellReplyEnvironment env, boolean stdinEnabled) {
        setEnv(env);
        setJupyterInEnabled(stdinEnabled);
    }

    void detach(ShellReplyEnvironment env) { retractEnv(env); }
}

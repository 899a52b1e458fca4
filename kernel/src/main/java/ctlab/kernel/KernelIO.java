package ctlab.kernel;

import org.dflib.jjava.jupyter.channels.ShellReplyEnvironment;
import org.dflib.jjava.jupyter.kernel.JupyterIO;

import java.nio.charset.StandardCharsets;

/** Exposes the base library's protected stream wiring to {@link CtlabKernel}'s own execute handler. */
final class KernelIO extends JupyterIO {
    KernelIO() { super(StandardCharsets.UTF_8); }

    void attach(ShellReplyEnvironment env, boolean stdinEnabled) {
        setEnv(env);
        setJupyterInEnabled(stdinEnabled);
    }

    void detach(ShellReplyEnvironment env) { retractEnv(env); }
}

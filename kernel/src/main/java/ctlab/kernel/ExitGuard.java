package ctlab.kernel;

import java.security.Permission;

/**
 * Keeps a cell from ending the kernel: {@code System.exit}, {@code Runtime.exit} and {@code Runtime.halt} from any
 * thread but the kernel's main thread throw {@link Refused}, which the cell reports as a {@code SystemExit} error.
 *
 * <p>Why a {@link SecurityManager}: it is the one hook that sees every exit, also from library code a cell calls
 * (e.g. a CLI {@code main}), which rewriting the snippets' own bytecode would miss. It checks nothing else (every
 * other permission is granted, so it costs a no-op call). JDK 17 allows it and prints a deprecation warning to the
 * kernel's log; 18 to 23 need {@code -Djava.security.manager=allow} (the kernelspec launcher passes it); 24+ have
 * no security manager, and there {@link #install} returns false and exits work as before.
 */
@SuppressWarnings("removal")
final class ExitGuard extends SecurityManager {
    /** What a cell's exit call throws. */
    static final class Refused extends SecurityException {
        Refused(int status) {
            super("System.exit(" + status + ") was called in a cell; the kernel keeps running (use Restart Kernel"
                    + " to start afresh)");
        }
    }

    private final Thread allowed;

    ExitGuard(Thread allowed) { this.allowed = allowed; }

    /** Installs the guard; only {@code allowed} (the kernel's main thread) may exit. False where the JDK refuses. */
    static boolean install(Thread allowed) {
        try {
            System.setSecurityManager(new ExitGuard(allowed));
            return true;
        } catch (UnsupportedOperationException | SecurityException noSecurityManager) {
            return false;
        }
    }

    @Override public void checkExit(int status) {
        if (Thread.currentThread() != allowed) throw new Refused(status);
    }

    @Override public void checkPermission(Permission perm) {}

    @Override public void checkPermission(Permission perm, Object context) {}
}

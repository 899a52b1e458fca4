package ctlab.kernel;

import java.util.List;

/**
 * A cell failed: compile error, exception from user code, interrupt, bad magic. Carries what Jupyter's
 * {@code error} message needs ({@code ename}, {@code evalue}, {@code traceback} lines).
 */
final class CellError extends RuntimeException {
    final String ename;
    final String evalue;
    final List<String> traceback;

    CellError(String ename, String evalue, List<String> traceback) {
        super(ename + ": " + evalue, null, false, false);
        this.ename = ename;
        this.evalue = evalue == null ? "" : evalue;
        this.traceback = List.copyOf(traceback);
    }

    static CellError of(String ename, String evalue) {
        return new CellError(ename, evalue, List.of(ename + ": " + (evalue == null ? "" : evalue)));
    }
}

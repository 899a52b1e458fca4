package ctlab.run;

import ctlab.CtlabException;

/** The run was interrupted (Ctrl-C, notebook interrupt); outputs so far are kept and a re-run resumes. */
public class RunInterrupted extends CtlabException {
    public RunInterrupted(String message) { super(message); }
}

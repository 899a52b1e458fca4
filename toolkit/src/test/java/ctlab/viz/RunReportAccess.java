package ctlab.viz;

import ctlab.analysis.RunData;

import java.nio.file.Path;

/** Test access to package-private helpers of {@link RunReport}. */
public final class RunReportAccess {
    private RunReportAccess() {}

    public static Path modelDir(RunData data) { return RunReport.modelDir(data); }
}

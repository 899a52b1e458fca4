package ctlab.data;

import ctlab.CtlabException;

import java.util.Map;

/**
 * The version of the run-file formats of this package, recorded in every stage's DONE marker (its
 * {@code versions.data_format}). Runs made before token ids were carried (no such entry) or with another version
 * are refused with a one-line error instead of being read through fallback code.
 */
public final class DataFormat {
    /** 2: token ids carried through (prompt_ids, response ids, pair_id everywhere). */
    public static final String VERSION = "2";
    public static final String KEY = "data_format";

    private DataFormat() {}

    /** Refuses a stage folder whose DONE versions record another (or no) data format. */
    public static void check(Map<String, String> versions, String folder, String stage) {
        String v = versions == null ? null : versions.get(KEY);
        if (!VERSION.equals(v)) {
            throw new CtlabException(folder + ": made by an older ctlab (data format " + (v == null ? "1" : v)
                    + ", this one reads " + VERSION + "); re-run with --force " + stage);
        }
    }
}

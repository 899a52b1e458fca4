package ctlab.task;

import java.util.List;
import java.util.Locale;

/**
 * The public data files ctlab knows, with their place under the data folder, size, sha256 and download
 * URLs (tried in order), as listed in the shared datasets README. GSM8K comes from openai/grade-school-math
 * at a fixed commit; MATH500 from a byte-identical copy of openai/prm800k's LFS file (then the LFS media
 * URL); the 12k MATH train split only from prm800k's LFS media URL.
 */
public enum DataFile {
    GSM8K_TRAIN("gsm8k-train", Task.GSM8K, "gsm8k/train.jsonl", 4166206L,
            "17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465",
            List.of(Urls.GSM8K + "train.jsonl")),
    GSM8K_TEST("gsm8k-test", Task.GSM8K, "gsm8k/test.jsonl", 749738L,
            "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",
            List.of(Urls.GSM8K + "test.jsonl")),
    MATH500("math500", Task.MATH, "math500/test.jsonl", 446564L,
            "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132",
            List.of(Urls.SIMPLERL_MATH500, Urls.PRM800K_MEDIA + "test.jsonl")),
    MATH_TRAIN("math-train", Task.MATH, "math/train.jsonl", 10896985L,
            "90d96daeac3fe343ebb1e22ce93dd99690f75983e957f88de42f87cffe1e8076",
            List.of(Urls.PRM800K_MEDIA + "train.jsonl"));

    private final String key;
    private final Task task;
    private final String relativePath;
    private final long size;
    private final String sha256;
    private final List<String> urls;

    DataFile(String key, Task task, String relativePath, long size, String sha256, List<String> urls) {
        this.key = key;
        this.task = task;
        this.relativePath = relativePath;
        this.size = size;
        this.sha256 = sha256;
        this.urls = urls;
    }

    /** Name used on the command line, e.g. {@code gsm8k-test}. */
    public String key() { return key; }
    public Task task() { return task; }
    /** Path under the data folder, e.g. {@code gsm8k/test.jsonl}. */
    public String relativePath() { return relativePath; }
    public long size() { return size; }
    public String sha256() { return sha256; }
    public List<String> urls() { return urls; }

    /** Loads this file's problems from the configured data folder ({@link DataPaths#resolve(DataFile)}). */
    public java.util.List<Problem> load() { return task.load(DataPaths.resolve(this)); }

    /** The files {@code ctlab data fetch} gets when none are named (the 11 MB MATH train split is opt-in). */
    public static List<DataFile> defaults() { return List.of(GSM8K_TRAIN, GSM8K_TEST, MATH500); }

    public static DataFile byKey(String key) {
        for (DataFile f : values()) if (f.key.equals(key.toLowerCase(Locale.ROOT))) return f;
        StringBuilder known = new StringBuilder();
        for (DataFile f : values()) known.append(known.length() == 0 ? "" : ", ").append(f.key);
        throw new ctlab.CtlabException("unknown data file '" + key + "' (known: " + known + ")");
    }

    private static final class Urls {
        static final String GSM8K = "https://raw.githubusercontent.com/openai/grade-school-math/"
                + "3101c7d5072418e28b9008a6636bde82a006892c/grade_school_math/data/";
        static final String SIMPLERL_MATH500 = "https://raw.githubusercontent.com/hkust-nlp/simpleRL-reason/"
                + "cf1c7858bfc145a27aa733e75d930d34f0d318a6/examples/simplelr_math_eval/data/math500/test.jsonl";
        static final String PRM800K_MEDIA = "https://media.githubusercontent.com/media/openai/prm800k/"
                + "7ecc794703b2877f63226f2477a49b34f9b25163/prm800k/math_splits/";
    }
}

package ctlab.run;

import ctlab.CtlabException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The sub-runs of {@code ctlab ablate --seeds 1,2 --grid train.lr=1e-5,4e-5 ...}: one per seed × grid point, each in
 * {@code RUN_DIR/seed-<s>[/<key>=<value>...]/} with the config overrides {@code seed=<s>} and {@code <key>=<value>}.
 * Parsing checks the spelling only (numbers, duplicates, folder-safe values); the caller loads every sub-run's config
 * before running anything, so a value the config refuses stops the whole grid up front.
 */
public record AblationGrid(List<Long> seeds, List<Axis> axes) {
    /** One {@code --grid KEY=V1,V2} axis. */
    public record Axis(String key, List<String> values) {}

    /** One sub-run: its seed, grid point (key → value, in axis order), folder and config overrides. */
    public record SubRun(long seed, Map<String, String> point, Path dir, List<String> overrides) {
        /** The folder relative to the run directory, e.g. {@code seed-2/train.lr=1e-5}. */
        public String label() {
            StringBuilder sb = new StringBuilder("seed-" + seed);
            point.forEach((k, v) -> sb.append('/').append(k).append('=').append(v));
            return sb.toString();
        }
    }

    /** Keys the grid may not vary: they have their own options. */
    private static final Map<String, String> RESERVED = Map.of("seed", "--seeds", "train.losses", "--losses");
    /** A value becomes part of a folder name: no separators, spaces or leading dot. */
    private static final Pattern SAFE_VALUE = Pattern.compile("[A-Za-z0-9_+-][A-Za-z0-9_.+-]*");

    /**
     * @param seeds the {@code --seeds} values (each a non-negative integer, no repeats; at least one)
     * @param specs the {@code --grid} values, each {@code KEY=V1,V2,...}
     */
    public static AblationGrid parse(List<String> seeds, List<String> specs) {
        if (seeds.isEmpty()) throw new CtlabException("--seeds: give at least one seed, e.g. --seeds 1,2,3");
        LinkedHashSet<Long> s = new LinkedHashSet<>();
        for (String v : seeds) {
            long seed;
            try {
                seed = Long.parseLong(v.trim());
            } catch (NumberFormatException e) {
                throw new CtlabException("--seeds: '" + v + "' is not a whole number");
            }
            if (seed < 0) throw new CtlabException("--seeds: " + seed + " is negative (seeds are >= 0)");
            if (!s.add(seed)) throw new CtlabException("--seeds: " + seed + " is given twice");
        }
        List<Axis> axes = new ArrayList<>();
        LinkedHashSet<String> keys = new LinkedHashSet<>();
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            if (eq <= 0) throw new CtlabException("--grid " + spec + ": expected KEY=V1,V2 (e.g. --grid train.lr=1e-5,4e-5)");
            String key = spec.substring(0, eq).trim();
            if (RESERVED.containsKey(key))
                throw new CtlabException("--grid " + key + ": use " + RESERVED.get(key) + " for " + key);
            if (!keys.add(key)) throw new CtlabException("--grid " + key + ": the key is given twice");
            LinkedHashSet<String> values = new LinkedHashSet<>();
            for (String v : spec.substring(eq + 1).split(",", -1)) {
                String t = v.trim();
                if (!SAFE_VALUE.matcher(t).matches())
                    throw new CtlabException("--grid " + key + ": value '" + t + "' must be a plain word or number (it names a folder)");
                if (!values.add(t)) throw new CtlabException("--grid " + key + ": value " + t + " is given twice");
            }
            axes.add(new Axis(key, List.copyOf(values)));
        }
        return new AblationGrid(List.copyOf(s), List.copyOf(axes));
    }

    /** Every grid point (key → value, axis order; the first axis varies slowest); one empty point without axes. */
    public List<Map<String, String>> points() {
        List<Map<String, String>> points = new ArrayList<>();
        points.add(new LinkedHashMap<>());
        for (Axis a : axes) {
            List<Map<String, String>> next = new ArrayList<>();
            for (Map<String, String> p : points) {
                for (String v : a.values()) {
                    Map<String, String> q = new LinkedHashMap<>(p);
                    q.put(a.key(), v);
                    next.add(q);
                }
            }
            points = next;
        }
        return points.stream().map(java.util.Collections::unmodifiableMap).toList();
    }

    /** The sub-runs under {@code runDir}, seed-major. */
    public List<SubRun> subRuns(Path runDir) {
        List<SubRun> out = new ArrayList<>();
        for (long seed : seeds) {
            for (Map<String, String> p : points()) {
                Path dir = runDir.resolve("seed-" + seed);
                List<String> overrides = new ArrayList<>(List.of("seed=" + seed));
                for (var e : p.entrySet()) {
                    dir = dir.resolve(e.getKey() + "=" + e.getValue());
                    overrides.add(e.getKey() + "=" + e.getValue());
                }
                out.add(new SubRun(seed, p, dir, List.copyOf(overrides)));
            }
        }
        return out;
    }
}

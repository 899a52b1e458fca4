package ctlab.run;

import ctlab.CtlabException;

import java.util.Collection;
import java.util.List;

/** Validation helpers for config records; each failure is a {@link ConfigKeyException} naming the key. */
public final class Check {
    private Check() {}

    public static <T> T required(String key, T value) {
        if (value == null) throw new ConfigKeyException(key, "required, but missing or null");
        return value;
    }

    public static double positive(String key, double v) {
        finite(key, v);
        if (!(v > 0)) throw new ConfigKeyException(key, "must be > 0, got " + fmt(v));
        return v;
    }

    public static double nonNegative(String key, double v) {
        finite(key, v);
        if (v < 0) throw new ConfigKeyException(key, "must be >= 0, got " + fmt(v));
        return v;
    }

    public static long atLeast(String key, long v, long min) {
        if (v < min) throw new ConfigKeyException(key, "must be >= " + min + ", got " + v);
        return v;
    }

    /** {@code v} in the interval; brackets in the message follow the inclusive flags, e.g. {@code (0, 1]}. */
    public static double within(String key, double v, double lo, boolean loInclusive, double hi, boolean hiInclusive) {
        finite(key, v);
        boolean ok = (loInclusive ? v >= lo : v > lo) && (hiInclusive ? v <= hi : v < hi);
        if (!ok) {
            throw new ConfigKeyException(key, "must be in " + (loInclusive ? "[" : "(") + fmt(lo) + ", " + fmt(hi)
                    + (hiInclusive ? "]" : ")") + ", got " + fmt(v));
        }
        return v;
    }

    public static String oneOf(String key, String v, Collection<String> allowed) {
        required(key, v);
        if (!allowed.contains(v)) {
            String hint = Suggest.closest(v, allowed).map(s -> " (did you mean " + s + "?)").orElse("");
            throw new ConfigKeyException(key, "must be one of " + allowed + ", got '" + v + "'" + hint);
        }
        return v;
    }

    /** A non-empty list whose elements each pass {@link #oneOf}; returns an unmodifiable copy. */
    public static List<String> eachOneOf(String key, List<String> values, Collection<String> allowed) {
        required(key, values);
        if (values.isEmpty()) throw new ConfigKeyException(key, "must not be empty");
        for (int i = 0; i < values.size(); i++) oneOf(key + "[" + i + "]", values.get(i), allowed);
        if (values.stream().distinct().count() != values.size()) {
            throw new ConfigKeyException(key, "has duplicate entries: " + values);
        }
        return List.copyOf(values);
    }

    private static void finite(String key, double v) {
        if (!Double.isFinite(v)) throw new ConfigKeyException(key, "must be a finite number, got " + v);
    }

    static String fmt(double v) { return CtlabException.number(v); }
}

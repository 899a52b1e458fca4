package ctlab.data;

/** Checks and conversions of token-id arrays in records. */
final class Ids {
    private Ids() {}

    /** A copy of {@code ids}, after checking it is present, non-negative and (unless allowed) not empty. */
    static int[] check(int[] ids, String field, boolean mayBeEmpty) {
        if (ids == null) throw new IllegalArgumentException(field + " is missing");
        if (!mayBeEmpty && ids.length == 0) throw new IllegalArgumentException(field + " is empty");
        for (int i = 0; i < ids.length; i++)
            if (ids[i] < 0) throw new IllegalArgumentException(field + "[" + i + "] = " + ids[i] + " is not a token id");
        return ids.clone();
    }

    static long[] toLongs(int[] ids) {
        long[] out = new long[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = ids[i];
        return out;
    }
}

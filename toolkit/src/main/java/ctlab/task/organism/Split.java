package ctlab.task.organism;

import ctlab.CtlabException;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * Train / validation / test. A problem's split is a fixed function of its canonical form (the family, the
 * starting number and every step's operation and numbers, but NOT names, items, verb synonyms or distractor
 * sentences): SHA-256 of that string, first 8 bytes, modulo 1000 — 80% train, 10% validation, 10% test.
 * So the splits are disjoint by construction, for any seed: two problems that differ only in wording, names
 * or distractors share a canonical form and therefore a split, and no seed can put a test problem's
 * arithmetic skeleton into train.
 */
public enum Split {
    TRAIN, VALIDATION, TEST;

    public String fileName() { return name().toLowerCase(Locale.ROOT) + ".jsonl"; }

    public static Split of(String canonical) {
        int bucket = (int) Long.remainderUnsigned(leading64(sha256(canonical)), 1000);
        if (bucket < 800) return TRAIN;
        return bucket < 900 ? VALIDATION : TEST;
    }

    public static Split parse(String name) {
        for (Split s : values()) if (s.name().equalsIgnoreCase(name)) return s;
        throw new CtlabException("unknown split '" + name + "' (train, validation, test)");
    }

    static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static long leading64(byte[] digest) {
        long v = 0;
        for (int i = 0; i < 8; i++) v = (v << 8) | (digest[i] & 0xff);
        return v;
    }
}

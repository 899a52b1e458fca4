package ctlab.task.organism;

import ctlab.CtlabException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Deterministic generator of GSM8K-style word problems with integer answers (see {@link Op} for the step
 * kinds). Problem number {@code i} of seed {@code s} depends only on (s, i, difficulty), so any problem can
 * be regenerated alone. Every intermediate value is an integer in [2, maxValue]; divisions are exact.
 */
public final class ProblemGenerator {
    static final String START_ITEMS = "{S} has {x} {I}.";
    static final String START_DEBT = "{S} owes {O} {x} dollars.";
    static final String ASK_ITEMS = "How many {I} does {S} have now?";
    static final String ASK_SHARE = "How many {I} does each friend get?";
    static final String ASK_DEBT = "How many dollars does {S} owe {O} now?";
    static final String FINAL = "The answer is {y}.";
    private static final int MAX_TRIES = 1000;

    private final Difficulty difficulty;
    private final long seed;

    public ProblemGenerator(Difficulty difficulty, long seed) {
        this.difficulty = difficulty;
        this.seed = seed;
    }

    public Difficulty difficulty() { return difficulty; }
    public long seed() { return seed; }

    /** Every sentence template the generator can emit (for building the tokenizer's vocabulary). */
    public static List<String> templates() {
        List<String> all = new ArrayList<>(List.of(START_ITEMS, START_DEBT, ASK_ITEMS, ASK_SHARE, ASK_DEBT, FINAL,
                OrganismProblem.prompt("")));
        for (Op op : Op.values()) { all.add(op.questionTemplate); all.add(op.solutionTemplate); }
        all.addAll(Lexicon.DISTRACTOR_TEMPLATES);
        return all;
    }

    /** Every word that fills a placeholder. */
    public static List<String> fillers() {
        List<String> all = new ArrayList<>();
        all.addAll(Lexicon.NAMES);
        all.addAll(Lexicon.ITEMS);
        all.addAll(Lexicon.CONTAINERS);
        all.addAll(Lexicon.GAIN_VERBS);
        all.addAll(Lexicon.LOSS_VERBS);
        for (String t : Lexicon.TIMES_WORDS) if (!t.isEmpty()) all.add(t);
        all.add("dollars");
        return all;
    }

    /**
     * The first {@code count} distinct problems of the given split, in draw order (draw 0, 1, 2, ... keeping
     * those whose canonical form hashes to the split, skipping repeated questions).
     */
    public List<OrganismProblem> split(Split split, int count) {
        if (count < 0) throw new CtlabException("problem count must be >= 0, got " + count);
        List<OrganismProblem> out = new ArrayList<>(count);
        Set<String> seen = new HashSet<>();
        long limit = 200L * count + 10_000;
        for (long i = 0; out.size() < count; i++) {
            if (i > limit)
                throw new CtlabException("could not generate " + count + " distinct " + split.name().toLowerCase()
                        + " problems with " + difficulty + " (got " + out.size() + "); widen the number ranges");
            OrganismProblem p = draw(i);
            if (p.split() == split && seen.add(p.question())) out.add(p);
        }
        return out;
    }

    /** Problem number {@code index} of this seed (any split). */
    public OrganismProblem draw(long index) {
        SplittableRandom rng = new SplittableRandom(mix(seed, index));
        for (int attempt = 0; attempt < MAX_TRIES; attempt++) {
            OrganismProblem p = new Story(rng).build();
            if (p != null) return p;
        }
        throw new CtlabException("difficulty " + difficulty + " admits no problem; widen the number ranges");
    }

    private static long mix(long seed, long index) {
        long z = seed * 0x9E3779B97F4A7C15L + index * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** One attempt at a story; {@link #build()} returns null when the random choices hit a dead end. */
    private final class Story {
        private final SplittableRandom rng;
        private final List<String> question = new ArrayList<>();
        private final List<String> solution = new ArrayList<>();
        private final List<String> ops = new ArrayList<>();
        private final StringBuilder canonical = new StringBuilder();
        private final Set<String> usedNames = new HashSet<>();
        private final Map<String, String> slots = new HashMap<>();

        Story(SplittableRandom rng) { this.rng = rng; }

        OrganismProblem build() {
            Op.Family family = rng.nextInt(4) == 0 ? Op.Family.DEBT : Op.Family.ITEMS;
            int steps = between(difficulty.minSteps(), difficulty.maxSteps());
            long x = between(3, difficulty.maxStart());
            slots.put("S", freshName());
            String item = family == Op.Family.DEBT ? "dollars" : pick(Lexicon.ITEMS);
            slots.put("I", item);
            if (family == Op.Family.DEBT) slots.put("O", freshName());
            slots.put("x", Long.toString(x));
            String start = fill(family == Op.Family.DEBT ? START_DEBT : START_ITEMS);
            question.add(start);
            solution.add(start);
            canonical.append(family).append('|').append(x);
            maybeDistractor();

            boolean shared = false;
            for (int s = 0; s < steps; s++) {
                boolean last = s == steps - 1;
                List<Op> feasible = new ArrayList<>();
                for (Op op : Op.values()) if (op.family == family && feasible(op, x, last)) feasible.add(op);
                if (feasible.isEmpty()) return null;
                Op op = pick(feasible);
                Long y = apply(op, x);
                if (y == null) return null;
                x = y;
                shared = op == Op.SHARE;
                if (!last || !shared) maybeDistractor();
            }
            String ask = family == Op.Family.DEBT ? ASK_DEBT : shared ? ASK_SHARE : ASK_ITEMS;
            question.add(fill(ask));
            slots.put("y", Long.toString(x));
            solution.add(fill(FINAL));
            String q = String.join(" ", question);
            String id = "org-" + hex(Split.sha256(q)).substring(0, 12);
            String canon = canonical.toString();
            return new OrganismProblem(id, Split.of(canon), q, String.join(" ", solution), x, steps, ops, canon);
        }

        private boolean feasible(Op op, long x, boolean last) {
            int maxK = difficulty.maxOperand();
            long maxV = difficulty.maxValue();
            return switch (op.arith) {
                case ADD -> x + 2 <= maxV;
                case SUB -> x >= 4;
                case ADD_GROUPS -> x + 4 <= maxV;
                case SUB_GROUPS -> x >= 6;
                case MUL -> 2 * x <= maxV;
                case DIV -> op == Op.SHARE ? last && x >= 4 && smallDivisors(x, maxK).size() > 0
                        : x >= 4 && x % 2 == 0;
            } && (op != Op.SHARE || last);
        }

        /** Applies a feasible step, writing its question and solution sentences; returns the new value. */
        private Long apply(Op op, long x) {
            int maxK = difficulty.maxOperand();
            long maxV = difficulty.maxValue();
            long k = 0, m = 0, y;
            switch (op.arith) {
                case ADD -> { k = between(2, (int) Math.min(maxK, maxV - x)); y = x + k; }
                case SUB -> { k = between(2, (int) Math.min(maxK, x - 2)); y = x - k; }
                case ADD_GROUPS, SUB_GROUPS -> {
                    List<long[]> pairs = new ArrayList<>();
                    for (long a = 2; a <= Math.min(5, maxK); a++)
                        for (long b = 2; b <= maxK; b++) {
                            long after = op.arith == Op.Arith.ADD_GROUPS ? x + a * b : x - a * b;
                            if (after >= 2 && after <= maxV) pairs.add(new long[] {a, b});
                        }
                    if (pairs.isEmpty()) return null;
                    long[] ab = pick(pairs);
                    k = ab[0];
                    m = ab[1];
                    y = op.arith == Op.Arith.ADD_GROUPS ? x + k * m : x - k * m;
                }
                case MUL -> {
                    int maxF = (int) Math.min(Math.min(5, maxK), maxV / x);
                    k = between(2, maxF);
                    y = x * k;
                    slots.put("t", Lexicon.TIMES_WORDS.get((int) k));
                    slots.put("f", Long.toString(k));
                }
                case DIV -> {
                    if (op == Op.SHARE) {
                        k = pick(smallDivisors(x, maxK));
                        y = x / k;
                    } else {
                        k = 2;
                        y = x / 2;
                    }
                }
                default -> throw new IllegalStateException(op.toString());
            }
            if (y < 2 || y > maxV) return null;
            slots.put("x", Long.toString(x));
            slots.put("k", Long.toString(k));
            slots.put("m", Long.toString(m));
            slots.put("p", Long.toString(k * m));
            slots.put("y", Long.toString(y));
            if (!op.verbs().isEmpty()) slots.put("v", pick(op.verbs()));
            if (op.questionTemplate.contains("{C}")) slots.put("C", pick(Lexicon.CONTAINERS));
            if (op.questionTemplate.contains("{P}")) slots.put("P", freshName());
            question.add(fill(op.questionTemplate));
            solution.add(fill(op.solutionTemplate));
            if (op.relational) slots.put("S", slots.get("P"));
            ops.add(op.name());
            canonical.append('|').append(op.arith).append(':').append(k);
            if (m != 0) canonical.append('x').append(m);
            return y;
        }

        private void maybeDistractor() {
            if (rng.nextDouble() >= difficulty.distractorRate()) return;
            String template = pick(Lexicon.DISTRACTOR_TEMPLATES);
            Map<String, String> extra = new LinkedHashMap<>(slots);
            extra.put("N", freshName());
            String other;
            do { other = pick(Lexicon.ITEMS); } while (other.equals(slots.get("I")));
            extra.put("J", other);
            extra.put("k", Long.toString(between(2, Math.max(12, 2 * difficulty.maxOperand()))));
            question.add(ProblemGenerator.fill(template, extra));
        }

        private String freshName() {
            String n;
            do { n = pick(Lexicon.NAMES); } while (!usedNames.add(n));
            return n;
        }

        private String fill(String template) { return ProblemGenerator.fill(template, slots); }

        private int between(int lo, int hi) { return lo + rng.nextInt(hi - lo + 1); }

        private <T> T pick(List<T> list) { return list.get(rng.nextInt(list.size())); }
    }

    private static final Pattern SLOT = Pattern.compile("\\{([A-Za-z])}");

    static String fill(String template, Map<String, String> slots) {
        Matcher mt = SLOT.matcher(template);
        StringBuilder sb = new StringBuilder();
        while (mt.find()) {
            String v = slots.get(mt.group(1));
            if (v == null) throw new IllegalStateException("unfilled slot " + mt.group() + " in " + template);
            mt.appendReplacement(sb, Matcher.quoteReplacement(v));
        }
        mt.appendTail(sb);
        String s = sb.toString();
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    private static List<Long> smallDivisors(long x, int maxK) {
        List<Long> out = new ArrayList<>();
        for (long d = 2; d <= Math.min(9, maxK); d++) if (x % d == 0 && x / d >= 2) out.add(d);
        return out;
    }

    static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        return sb.toString();
    }
}

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

    /** Salt of the trap decisions' own random stream (so the v1 draws are untouched by the trap option). */
    private static final long TRAP_SALT = 0x7A3C_5EED_0B1A_5EDL;

    private final Difficulty difficulty;
    private final long seed;
    private final Traps traps;

    /** The v1 organism (no traps): the "capacity errors" control. */
    public ProblemGenerator(Difficulty difficulty, long seed) { this(difficulty, seed, null); }

    /**
     * @param traps organism v2's planted misconceptions, or null for the v1 organism. Problems without a trap
     *              are the same as the v1 generator's problem of the same index (the trap choices draw from a
     *              separate random stream).
     */
    public ProblemGenerator(Difficulty difficulty, long seed, Traps traps) {
        this.difficulty = difficulty;
        this.seed = seed;
        this.traps = traps;
    }

    public Difficulty difficulty() { return difficulty; }
    public long seed() { return seed; }
    /** Null for the v1 organism. */
    public Traps traps() { return traps; }

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
        SplittableRandom trapRng = traps == null ? null : new SplittableRandom(mix(seed, index) ^ TRAP_SALT);
        // whether this problem has a trap, and which, is decided once (not per attempt), so the trap rate holds
        TrapFamily family = null;
        int context = 0;
        if (trapRng != null && trapRng.nextDouble() < traps.rate()) {
            List<TrapFamily> enabled = traps.enabled();
            family = enabled.get(trapRng.nextInt(enabled.size()));
            context = trapRng.nextInt(traps.p().size());
        }
        for (int attempt = 0; attempt < MAX_TRIES; attempt++) {
            OrganismProblem p = new Story(rng, trapRng, family, context).build();
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
        private final SplittableRandom trapRng;
        /** Each step's solution template and slots, to rewrite the solution along the trap branch. */
        private final List<StepRecord> records = new ArrayList<>();
        private TrapFamily trapFamily;
        private int trapStep = -1, trapContext, trapRecord;

        Story(SplittableRandom rng, SplittableRandom trapRng, TrapFamily trapFamily, int trapContext) {
            this.rng = rng;
            this.trapRng = trapRng;
            this.trapFamily = trapFamily;
            this.trapContext = trapContext;
        }

        OrganismProblem build() {
            Op.Family family = rng.nextInt(4) == 0 ? Op.Family.DEBT : Op.Family.ITEMS;
            int steps = between(difficulty.minSteps(), difficulty.maxSteps());
            if (trapFamily != null) {
                family = trapFamily.family;
                trapStep = trapRng.nextInt(steps);
            }
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
                if (s == trapStep) {
                    Long y = applyTrap(x);
                    if (y == null) return null;
                    x = y;
                    shared = false;
                    maybeDistractor();
                    continue;
                }
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
            Split split = Split.of(canon);
            Trap trap = null;
            if (trapFamily != null) {
                trap = groundTruth(split, x);
                if (trap == null) return null;
            }
            return new OrganismProblem(id, split, q, String.join(" ", solution), x, steps, ops, canon, trap);
        }

        /** A trap step: the family's wording with a correct solution; null when x does not fit both branches. */
        private Long applyTrap(long x) {
            TrapFamily f = trapFamily;
            long maxV = difficulty.maxValue();
            long k, y;
            if (f.arith == Op.Arith.DIV) {
                if (x < 4 || x % 2 != 0) return null;
                k = 2;
                y = x / 2;
            } else {
                long hi = Math.min(Math.min(difficulty.maxOperand(), x - 2), maxV - x);   // both x - k and x + k fit
                if (hi < 2) return null;
                k = between(2, (int) hi);
                y = x - k;
            }
            Long wrong = f.apply(f.trapOp, x, k);
            // both branches must stay in range and differ (x / 2 == x - 2 at x = 4); the later steps are injective,
            // so the trap branch never reaches the true answer
            if (wrong == null || wrong < 2 || wrong > maxV || wrong == y) return null;
            slots.put("x", Long.toString(x));
            slots.put("k", Long.toString(k));
            slots.put("y", Long.toString(y));
            slots.put("o", f.correctOp());
            slots.put("c", f.contexts.get(trapContext));
            question.add(fill(f.questionTemplate));
            solution.add(fill(f.solutionTemplate));
            trapRecord = records.size();
            records.add(new StepRecord(f.solutionTemplate, new HashMap<>(slots), f.arith, k, 0, solution.size() - 1));
            ops.add(f.name());
            canonical.append('|').append(f.arith).append(':').append(k);
            return y;
        }

        /**
         * The trap's ground truth: where its operator sits in the solution's tokens, the answer along the trap
         * branch (the later steps replayed on the wrong value; null when that leaves the number range), and for
         * a train problem, with probability p, the biased solution the pretraining corpus uses.
         */
        private Trap groundTruth(Split split, long answer) {
            TrapFamily f = trapFamily;
            int recordIndex = trapRecord;
            StepRecord at = records.get(recordIndex);
            List<String> wrong = new ArrayList<>(solution);
            Map<String, String> s0 = new HashMap<>(at.slots);
            long w = f.apply(f.trapOp, Long.parseLong(s0.get("x")), at.k);
            s0.put("o", f.trapOp);
            s0.put("y", Long.toString(w));
            wrong.set(at.solutionIndex, ProblemGenerator.fill(f.solutionTemplate, s0));
            for (StepRecord r : records.subList(recordIndex + 1, records.size())) {
                Long next = r.replay(w);
                if (next == null || next < 2 || next > difficulty.maxValue()) return null;
                Map<String, String> sl = new HashMap<>(r.slots);
                sl.put("x", Long.toString(w));
                sl.put("y", Long.toString(next));
                wrong.set(r.solutionIndex, ProblemGenerator.fill(r.template, sl));
                w = next;
            }
            wrong.set(wrong.size() - 1, ProblemGenerator.fill(FINAL, Map.of("y", Long.toString(w))));
            // the decisive operator: first " op " after the anchor in the trap sentence
            int offset = 0;
            for (int i = 0; i < at.solutionIndex; i++) offset += solution.get(i).length() + 1;
            String sentence = solution.get(at.solutionIndex);
            int from = sentence.indexOf(f.anchor) + f.anchor.length();
            int opAt = sentence.indexOf(" " + f.correctOp() + " ", from) + 1;
            int position = tokenCount(String.join(" ", solution).substring(0, offset + opAt));
            double p = traps.p().get(trapContext);
            boolean flip = split == Split.TRAIN && trapRng.nextDouble() < p;
            return new Trap(f.key(), f.contexts.get(trapContext), p, trapStep, position, f.correctOp(), f.trapOp, w,
                    flip ? String.join(" ", wrong) : null);
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
            if (trapFamily != null)
                records.add(new StepRecord(op.solutionTemplate, new HashMap<>(slots), op.arith, k, m, solution.size() - 1));
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

    /** One written step: enough to rewrite its solution sentence for another value before it. */
    private record StepRecord(String template, Map<String, String> slots, Op.Arith arith, long k, long m,
                              int solutionIndex) {
        /** The step's arithmetic on {@code x}; null for an inexact division. */
        Long replay(long x) {
            return switch (arith) {
                case ADD -> x + k;
                case SUB -> x - k;
                case ADD_GROUPS -> x + k * m;
                case SUB_GROUPS -> x - k * m;
                case MUL -> x * k;
                case DIV -> x % k == 0 ? x / k : null;
            };
        }
    }

    private static final Pattern TOKEN = Pattern.compile(OrganismTokenizer.PATTERN);

    /** Number of organism tokens in {@code text} (the tokenizer's pre-tokenizer pieces; each is one token). */
    static int tokenCount(String text) {
        Matcher m = TOKEN.matcher(text);
        int n = 0;
        while (m.find()) n++;
        return n;
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

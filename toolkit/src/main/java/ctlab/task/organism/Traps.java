package ctlab.task.organism;

import ctlab.CtlabException;

import java.util.ArrayList;
import java.util.List;

/**
 * Organism v2's knobs: planted misconceptions ({@link TrapFamily}). A fraction {@code rate} of the problems
 * get exactly one trap step (a family whose story kind matches); its context word is drawn uniformly from the
 * family's first {@code p.size()} contexts, and in the TRAIN split the pretraining solution uses the family's
 * trap operator with probability {@code p[context]} (the rest of that solution then follows the wrong value).
 * The problem's own solution and answer stay correct in every split: validation/test are always labelled
 * correctly, and the train split's answer is the true one (only {@link Trap#pretrainSolution()} is biased).
 *
 * @param families enabled trap families (their keys, e.g. "donate"); the ablation's "number of families"
 * @param rate     fraction of problems with a trap
 * @param p        per context, the probability that the corpus solution takes the trap operator
 */
public record Traps(List<String> families, double rate, List<Double> p) {
    public static final int MAX_CONTEXTS = 3;

    public Traps {
        if (families == null || families.isEmpty()) throw new CtlabException("traps: 'families' must name at least one of "
                + keys());
        families = List.copyOf(families);
        for (String f : families) family(f);
        if (families.stream().distinct().count() != families.size())
            throw new CtlabException("traps: 'families' lists a family twice: " + families);
        if (!(rate >= 0 && rate <= 1)) throw new CtlabException("traps: 'rate' must be in [0, 1], got " + rate);
        if (p == null || p.isEmpty() || p.size() > MAX_CONTEXTS)
            throw new CtlabException("traps: 'p' needs 1 to " + MAX_CONTEXTS + " values (one per context), got " + p);
        p = List.copyOf(p);
        for (Double v : p)
            if (v == null || !(v >= 0 && v <= 1)) throw new CtlabException("traps: every 'p' must be in [0, 1], got " + p);
    }

    /**
     * The organism-traps recipe: all four families, a trap in 30% of the problems, two contexts where the corpus
     * is wrong 80% of the time and one where it is wrong 20% of the time (so greedy falls into about two thirds
     * of the traps, and at T = 1 both branches are likely everywhere).
     */
    public static Traps standard() {
        List<String> all = new ArrayList<>();
        for (TrapFamily f : TrapFamily.values()) all.add(f.key());
        return new Traps(all, 0.3, List.of(0.8, 0.8, 0.2));
    }

    public List<TrapFamily> enabled() { return families.stream().map(Traps::family).toList(); }

    public static TrapFamily family(String key) {
        for (TrapFamily f : TrapFamily.values()) if (f.key().equals(key)) return f;
        throw new CtlabException("traps: unknown family '" + key + "' (" + keys() + ")");
    }

    private static String keys() {
        return String.join(", ", java.util.Arrays.stream(TrapFamily.values()).map(TrapFamily::key).toList());
    }

    /** Every sentence template and filler of the trap families (for the v2 tokenizer's extra words). */
    static List<String> texts() {
        List<String> out = new ArrayList<>();
        for (TrapFamily f : TrapFamily.values()) {
            out.add(f.questionTemplate);
            out.add(f.solutionTemplate);
            out.addAll(f.contexts);
        }
        return out;
    }
}

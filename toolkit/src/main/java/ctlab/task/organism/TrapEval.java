package ctlab.task.organism;

import ctlab.stats.Accuracy;
import ctlab.model.Tokenizer;
import ctlab.task.Problem;

import java.util.List;

/**
 * Organism v2's measurements of a model: greedy accuracy on problems without and with a trap, which branch
 * greedy took at the trap, and at temperature T how often a trap problem's samples take both branches.
 * Trap ground truth comes from the problem's metadata ({@link OrganismTask#toProblem}).
 */
public final class TrapEval {
    private TrapEval() {}

    /** Counts of greedy branches at the trap (trap problems only). */
    public record Branches(int correct, int trap, int other) {
        @Override public String toString() { return "correct op " + correct + ", trap op " + trap + ", other " + other; }
    }

    /**
     * Of {@code problems} trap problems with {@code samples} samples each: how many had samples on both the
     * correct and the trap branch at the trap, only correct, only trap; and the share of samples on the trap branch.
     */
    public record SampledBranches(int problems, int samples, int both, int onlyCorrect, int onlyTrap, double trapShare) {
        @Override public String toString() {
            return String.format("%d/%d trap problems sample both branches at the trap among %d samples (only correct "
                    + "%d, only trap %d; %.1f%% of samples take the trap op)", both, problems, samples, onlyCorrect,
                    onlyTrap, 100 * trapShare);
        }
    }

    public record Report(Accuracy clean, Accuracy trapped, Branches greedyBranches,
                         SampledBranches sampled) {
        @Override public String toString() {
            return "no trap: " + clean + "; with a trap: " + trapped + "; greedy at the trap: " + greedyBranches
                    + (sampled == null ? "" : "; " + sampled);
        }
    }

    /** Null when no problem has a trap (the v1 organism). */
    public static Trap trapOf(Problem p) {
        Object t = p.metadata() == null ? null : p.metadata().get("trap");
        return t instanceof Trap trap ? trap : null;
    }

    /**
     * @param greedy  one greedy response per problem, in order
     * @param sampled samples per problem, in order (null = no sampling check)
     * @return null when none of the problems has a trap
     */
    public static Report of(Tokenizer tokenizer, List<Problem> problems, List<List<OrganismEval.Response>> greedy,
                            List<List<OrganismEval.Response>> sampled) {
        int n = 0, nc = 0, t = 0, tc = 0, bc = 0, bt = 0, bo = 0;
        for (int i = 0; i < problems.size(); i++) {
            Trap trap = trapOf(problems.get(i));
            OrganismEval.Response r = greedy.get(i).get(0);
            if (trap == null) {
                n++;
                if (r.correct()) nc++;
                continue;
            }
            t++;
            if (r.correct()) tc++;
            switch (TrapTruth.locate(tokenizer, trap, tokenizer.encodeResponse(r.text())).branch()) {
                case CORRECT -> bc++;
                case TRAP -> bt++;
                case OTHER -> bo++;
            }
        }
        if (t == 0) return null;
        SampledBranches sb = null;
        if (sampled != null) {
            int problemsWithTrap = 0, both = 0, onlyC = 0, onlyT = 0, total = 0, onTrap = 0, k = 0;
            for (int i = 0; i < Math.min(problems.size(), sampled.size()); i++) {
                Trap trap = trapOf(problems.get(i));
                if (trap == null) continue;
                problemsWithTrap++;
                int c = 0, w = 0;
                for (OrganismEval.Response r : sampled.get(i)) {
                    TrapTruth.Branch b = TrapTruth.locate(tokenizer, trap, tokenizer.encodeResponse(r.text())).branch();
                    if (b == TrapTruth.Branch.CORRECT) c++;
                    if (b == TrapTruth.Branch.TRAP) w++;
                }
                k = sampled.get(i).size();
                total += k;
                onTrap += w;
                if (c > 0 && w > 0) both++;
                else if (c > 0) onlyC++;
                else if (w > 0) onlyT++;
            }
            sb = new SampledBranches(problemsWithTrap, k, both, onlyC, onlyT,
                    total == 0 ? Double.NaN : onTrap / (double) total);
        }
        return new Report(accuracy(nc, n), accuracy(tc, t), new Branches(bc, bt, bo), sb);
    }

    /** Wilson accuracy, or null for an empty subset. */
    private static Accuracy accuracy(int correct, int total) {
        return total == 0 ? null : Accuracy.of(correct, total);
    }
}

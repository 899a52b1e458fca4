package ctlab.critical;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import ctlab.CtlabException;
import ctlab.data.Planted;
import ctlab.data.ScoredPair;

import java.util.ArrayList;
import java.util.List;

/**
 * How well CE scores s_t find KNOWN critical tokens: organism v2's planted trap positions (one per
 * trajectory that fell into a trap). Pooled AUROC of (1 − s_t) with the planted token as the positive and every
 * other token of the same trajectories as negatives; precision@1 (the lowest s_t is the planted token); and
 * within ±1 of it. Same conventions as {@link Agreement} (its AUROC and argMin).
 */
public final class PlantedAgreement {
    private PlantedAgreement() {}

    @JsonPropertyOrder({"trajectories", "pooled_auroc", "precision_at_1", "within_one"})
    public record Summary(@JsonProperty("trajectories") int trajectories,
                          @JsonProperty("pooled_auroc") double pooledAuroc,
                          @JsonProperty("precision_at_1") double precisionAt1,
                          @JsonProperty("within_one") double withinOne) {}

    /**
     * The CE scores of scored pairs vs their planted critical tokens over the rejected responses that fell into their
     * problem's trap ({@link Planted#fellIn}: the decisive token is a known critical token there); null when no pair
     * carries ground truth (a task without planted traps).
     */
    public static Summary ofRejected(List<ScoredPair> scored) {
        List<double[]> scores = new ArrayList<>();
        List<Integer> positions = new ArrayList<>();
        boolean any = false;
        for (ScoredPair s : scored) {
            Planted p = s.pair().rejectedPlanted();
            any |= p != null;
            if (p == null || !p.fellIn()) continue;
            scores.add(s.rejectedScores());
            positions.add(p.position());
        }
        return any ? of(scores, positions.stream().mapToInt(Integer::intValue).toArray()) : null;
    }

    /**
     * @param scores  per trajectory, s_t for every response token
     * @param planted per trajectory, the planted token's index into its scores
     */
    public static Summary of(List<double[]> scores, int[] planted) {
        if (scores.size() != planted.length)
            throw new CtlabException(scores.size() + " score rows but " + planted.length + " planted positions");
        int total = 0;
        for (int i = 0; i < planted.length; i++) {
            if (planted[i] < 0 || planted[i] >= scores.get(i).length)
                throw new CtlabException("trajectory " + i + ": planted position " + planted[i] + " is outside its "
                        + scores.get(i).length + " scores");
            total += scores.get(i).length;
        }
        double[] pooled = new double[total];
        boolean[] labels = new boolean[total];
        int at = 0, exact = 0, near = 0;
        for (int i = 0; i < planted.length; i++) {
            double[] s = scores.get(i);
            for (int t = 0; t < s.length; t++, at++) {
                pooled[at] = 1 - s[t];
                labels[at] = t == planted[i];
            }
            int low = Agreement.argMin(s);
            if (low == planted[i]) exact++;
            if (Math.abs(low - planted[i]) <= 1) near++;
        }
        int n = planted.length;
        return new Summary(n, Agreement.auroc(pooled, labels), n == 0 ? Double.NaN : exact / (double) n,
                n == 0 ? Double.NaN : near / (double) n);
    }
}

package ctlab.critical;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class PlantedAgreementTest {
    @Test
    void perfectScoresFindEveryPlantedToken() {
        List<double[]> s = List.of(new double[] {0.9, 0.1, 0.8}, new double[] {0.7, 0.6, 0.5, 0.05});
        var r = PlantedAgreement.of(s, new int[] {1, 3});
        assertEquals(2, r.trajectories());
        assertEquals(1.0, r.pooledAuroc());
        assertEquals(1.0, r.precisionAt1());
        assertEquals(1.0, r.withinOne());
    }

    @Test
    void offByOneCountsOnlyWithinOneAndAurocIsTheBruteForcePairCount() {
        SplittableRandom rng = new SplittableRandom(4);
        List<double[]> s = new ArrayList<>();
        int[] planted = new int[50];
        int exact = 0, near = 0;
        for (int i = 0; i < planted.length; i++) {
            double[] row = new double[12];
            for (int t = 0; t < row.length; t++) row[t] = 0.2 + 0.8 * rng.nextDouble();
            planted[i] = 1 + rng.nextInt(10);
            int kind = i % 3;   // 0: planted lowest; 1: its neighbour lowest; 2: random
            if (kind == 0) row[planted[i]] = 0.01;
            if (kind == 1) { row[planted[i] + 1] = 0.01; row[planted[i]] = 0.05; }
            int low = Agreement.argMin(row);
            if (low == planted[i]) exact++;
            if (Math.abs(low - planted[i]) <= 1) near++;
            s.add(row);
        }
        var r = PlantedAgreement.of(s, planted);
        assertEquals(exact / 50.0, r.precisionAt1());
        assertEquals(near / 50.0, r.withinOne());
        assertTrue(r.withinOne() >= 2 / 3.0 && r.precisionAt1() < r.withinOne());
        // brute force: P(1 - s of a planted token > 1 - s of another token), ties half
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < s.size(); i++)
            for (int j = 0; j < s.size(); j++)
                for (int t = 0; t < s.get(j).length; t++) {
                    if (t == planted[j]) continue;
                    double a = s.get(i)[planted[i]], b = s.get(j)[t];
                    wins += a < b ? 1 : a == b ? 0.5 : 0;
                    pairs++;
                }
        assertEquals(wins / pairs, r.pooledAuroc(), 1e-12);
    }

    @Test
    void aPlantedPositionOutsideItsScoresIsNamed() {
        var e = assertThrows(CtlabException.class, () -> PlantedAgreement.of(List.of(new double[3]), new int[] {3}));
        assertTrue(e.getMessage().contains("trajectory 0") && e.getMessage().contains("position 3"), e.getMessage());
        assertThrows(CtlabException.class, () -> PlantedAgreement.of(List.of(new double[3]), new int[] {0, 1}));
    }
}

package ctlab.critical;

import ctlab.critical.Agreement.Labels;
import ctlab.critical.RolloutProbe.Result;
import ctlab.critical.RolloutProbe.Rule;
import ctlab.critical.RolloutProbe.TokenRow;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgreementTest {

    @Test
    void aurocCountsPairsAboveAndHalfTies() {
        // positives 0.9, 0.7 vs negatives 0.8, 0.6, 0.5: 3 + 2 of 6 pairs ordered right
        assertEquals(5.0 / 6, Agreement.auroc(new double[] {0.9, 0.8, 0.7, 0.6, 0.5},
                new boolean[] {true, false, true, false, false}), 1e-12);
        // positives 0.5, 0.5 vs negatives 0.5, 0.2: each positive wins 1 and ties 1 -> (1.5 + 1.5) / 4
        assertEquals(0.75, Agreement.auroc(new double[] {0.5, 0.5, 0.2, 0.5},
                new boolean[] {true, false, false, true}), 1e-12);
        // all scores tied -> 0.5; perfect inversion -> 0
        assertEquals(0.5, Agreement.auroc(new double[] {1, 1, 1}, new boolean[] {true, false, false}), 1e-12);
        assertEquals(0.0, Agreement.auroc(new double[] {0.1, 0.9}, new boolean[] {true, false}), 1e-12);
        assertTrue(Double.isNaN(Agreement.auroc(new double[] {0.1, 0.9}, new boolean[] {false, false})));
    }

    @Test
    void ceScoreIsOneMinusS() {
        // the token with the lowest s is the positive -> perfect AUROC
        assertEquals(1.0, Agreement.aurocOfCe(new double[] {0.1, 0.9, 0.3}, new boolean[] {true, false, false}), 1e-12);
        assertEquals(0.5, Agreement.aurocOfCe(new double[] {0.3, 0.9, 0.1}, new boolean[] {true, false, false}), 1e-12);
        assertEquals(1, Agreement.argMin(new double[] {0.3, 0.1, 0.1}));
    }

    static Result result(int baseline, int[] withCorrect) {
        List<TokenRow> rows = new ArrayList<>();
        for (int i = 0; i < withCorrect.length; i++) rows.add(new TokenRow(i, 10 + i, "t" + i, 0.5, withCorrect[i], 4, 1, 4));
        return new Result("t", withCorrect.length, 4, baseline, RolloutProbe.firstDrop(rows, baseline),
                RolloutProbe.official(rows, 0.25), 0, 0, 0, rows);
    }

    @Test
    void perTrajectoryAgreement() {
        Result r = result(2, new int[] {3, 2, 0, 0, 0});   // critical (first drop) = 2
        assertEquals(2, r.critical());
        double[] s = {0.9, 0.8, 0.05, 0.7, 0.6};
        Agreement.TrajectoryAgreement a = Agreement.of(s, r, Rule.FIRST_DROP, Labels.CRITICAL);
        assertEquals(2, a.lowestS());
        assertTrue(a.exact());
        assertTrue(a.withinOne());
        assertEquals(1.0, a.auroc(), 1e-12);
        // lowest s one token early: not exact, within one; AUROC: 1 - s = {.1,.2,.4,.3,.95}, critical .4 beats .1,.2,.3
        double[] s2 = {0.9, 0.8, 0.6, 0.7, 0.05};
        Agreement.TrajectoryAgreement b = Agreement.of(s2, r, Rule.FIRST_DROP, Labels.CRITICAL);
        assertEquals(4, b.lowestS());
        assertFalse(b.exact());
        assertFalse(b.withinOne());
        assertEquals(0.75, b.auroc(), 1e-12);
        // DROP labels: baseline 2 -> 3 (no), 3 -> 2 (yes), 2 -> 0 (yes), 0 -> 0 (no), 0 -> 0 (no)
        assertArrayEquals(new boolean[] {false, true, true, false, false}, Agreement.labels(r, 2, Labels.DROP));
        // 1 - s2 = {.1, .2, .4, .3, .95}: positives .2, .4 vs negatives .1, .3, .95 -> (1 + 2) / 6
        assertEquals(0.5, Agreement.of(s2, r, Rule.FIRST_DROP, Labels.DROP).auroc(), 1e-12);
    }

    @Test
    void summaryPoolsTrajectories() {
        Result r1 = result(2, new int[] {3, 2, 0, 0});    // critical 2
        Result r2 = result(-1, new int[] {0, 1, 0, 0});   // critical 2 (needs a positive before)
        Result r3 = result(0, new int[] {0, 0, 0, 0});    // none
        List<double[]> s = List.of(new double[] {0.9, 0.8, 0.1, 0.7}, new double[] {0.9, 0.2, 0.8, 0.7},
                new double[] {0.5, 0.5, 0.5, 0.5});
        Agreement.Summary sum = Agreement.summarize(s, List.of(r1, r2, r3), Rule.FIRST_DROP, Labels.CRITICAL);
        assertEquals(3, sum.trajectories());
        assertEquals(2, sum.withCritical());
        assertEquals(0.5, sum.exactRate(), 1e-12);       // r1 exact, r2 lowest at 1
        assertEquals(1.0, sum.withinOneRate(), 1e-12);
        // r1 auroc 1; r2: 1-s = {.1,.8,.2,.3}, critical .2 beats only .1 -> 1/3; mean = 2/3
        assertEquals(2.0 / 3, sum.meanAuroc(), 1e-12);
        // pooled: positives .9 (r1) and .2 (r2) vs 10 negatives {.1,.2,.3, .1,.8,.3, .5,.5,.5,.5}:
        // .9 beats 10; .2 beats .1, .1 and ties .2 -> 2.5;  (10 + 2.5) / 20
        assertEquals(12.5 / 20, sum.pooledAuroc(), 1e-12);
    }
}

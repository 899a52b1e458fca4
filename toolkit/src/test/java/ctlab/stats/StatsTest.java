package ctlab.stats;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Against hand-computed values (Wilson by its closed form, pass@k by binomial coefficients, McNemar by hand). */
class StatsTest {

    @Test
    void wilsonIntervals() {
        // Closed form (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.95996.
        Accuracy a = Accuracy.of(7, 10);
        assertEquals(0.7, a.estimate(), 1e-12);
        assertEquals(0.396778, a.lower(), 1e-5);
        assertEquals(0.892209, a.upper(), 1e-5);
        Accuracy zero = Accuracy.of(0, 20);
        assertEquals(0.0, zero.lower());
        assertEquals(0.161125, zero.upper(), 1e-5);
        Accuracy all = Accuracy.of(20, 20);
        assertEquals(0.838875, all.lower(), 1e-5);
        assertEquals(1.0, all.upper());
        Accuracy big = Accuracy.of(412, 500);
        assertEquals(0.788186, big.lower(), 1e-5);
        assertEquals(0.854874, big.upper(), 1e-5);
        assertEquals(Accuracy.of(2, 3).estimate(), Accuracy.of(new boolean[] {true, false, true}).estimate());
        assertThrows(IllegalArgumentException.class, () -> Accuracy.of(0, 0));
        assertThrows(IllegalArgumentException.class, () -> Accuracy.of(5, 4));
        assertTrue(a.toString().startsWith("70.0% [39.7, 89.2]"), a.toString());
    }

    @Test
    void passAtK() {
        assertEquals(0.3, PassAtK.estimate(10, 3, 1), 1e-12);               // c/n for k = 1
        assertEquals(1.0 - 3.0 / 10.0, PassAtK.estimate(5, 2, 2), 1e-12);   // 1 - C(3,2)/C(5,2)
        assertEquals(1.0 - 35.0 / 120.0, PassAtK.estimate(10, 3, 3), 1e-12); // 1 - C(7,3)/C(10,3)
        assertEquals(1.0, PassAtK.estimate(10, 3, 8), 0.0);                 // n - c < k
        assertEquals(0.0, PassAtK.estimate(10, 0, 5), 0.0);
        assertEquals(0.5, PassAtK.estimate(200, 1, 100), 1e-12);            // 1 - C(199,100)/C(200,100) = 1/2
        // C(190,100)/C(200,100) = prod_{i=0}^{9} (100-i)/(200-i), far beyond double range as factorials
        double ratio = 1;
        for (int i = 0; i < 10; i++) ratio *= (100.0 - i) / (200.0 - i);
        assertEquals(1 - ratio, PassAtK.estimate(200, 10, 100), 1e-12);
        assertEquals((0.3 + 1.0) / 2, PassAtK.mean(new int[] {10, 4}, new int[] {3, 4}, 1), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> PassAtK.estimate(5, 6, 1));
        assertThrows(IllegalArgumentException.class, () -> PassAtK.estimate(5, 2, 6));
    }

    @Test
    void mcnemarExact() {
        assertEquals(22.0 / 1024.0, PairedComparison.mcnemarExactP(1, 9), 1e-12);  // 2·(C(10,0)+C(10,1))/2^10
        assertEquals(22.0 / 1024.0, PairedComparison.mcnemarExactP(9, 1), 1e-12);
        assertEquals(2.0 / 64.0, PairedComparison.mcnemarExactP(0, 6), 1e-12);     // 2·(1/2)^6
        assertEquals(1.0, PairedComparison.mcnemarExactP(5, 5), 1e-12);
        assertEquals(1.0, PairedComparison.mcnemarExactP(0, 0), 0.0);
        assertEquals(1.0, PairedComparison.mcnemarExactP(0, 1), 1e-12);
    }

    @Test
    void pairedBootstrapMatchesTheNormalApproximationOnALargeSample() {
        // 400 problems: 60 only A right, 20 only B right, 200 both right, 120 both wrong.
        int n = 400;
        boolean[] a = new boolean[n], b = new boolean[n];
        for (int i = 0; i < n; i++) {
            if (i < 60) { a[i] = true; }
            else if (i < 80) { b[i] = true; }
            else if (i < 280) { a[i] = true; b[i] = true; }
        }
        PairedComparison c = PairedComparison.of(a, b, 0.95, 20_000, 7);
        assertEquals(0.65, c.accuracyA(), 1e-12);
        assertEquals(0.55, c.accuracyB(), 1e-12);
        assertEquals(-0.10, c.difference(), 1e-12);
        assertEquals(60, c.onlyA());
        assertEquals(20, c.onlyB());
        assertEquals(PairedComparison.mcnemarExactP(60, 20), c.mcnemarP(), 0.0);
        assertTrue(c.mcnemarP() < 1e-5, "60 vs 20 discordant is clearly significant: " + c.mcnemarP());
        // Normal approximation: per-problem differences have variance 80/400 - 0.1² = 0.19.
        double half = 1.959964 * Math.sqrt(0.19 / n);
        assertEquals(-0.10 - half, c.ciLower(), 0.006);
        assertEquals(-0.10 + half, c.ciUpper(), 0.006);
        PairedComparison again = PairedComparison.of(a, b, 0.95, 20_000, 7);
        assertEquals(c, again, "same seed, same numbers");
        PairedComparison otherSeed = PairedComparison.of(a, b, 0.95, 20_000, 8);
        assertEquals(c.ciLower(), otherSeed.ciLower(), 0.004, "another seed moves the bound by Monte Carlo noise only");
    }

    @Test
    void pairedEdgeCases() {
        boolean[] right = {true, true, true, true}, wrong = {false, false, false, false};
        PairedComparison c = PairedComparison.of(wrong, right, 1);
        assertEquals(1.0, c.difference());
        assertEquals(1.0, c.ciLower());
        assertEquals(1.0, c.ciUpper());
        assertEquals(2.0 / 16.0, c.mcnemarP(), 1e-12);
        PairedComparison same = PairedComparison.of(right, right, 1);
        assertEquals(0.0, same.ciLower());
        assertEquals(1.0, same.mcnemarP());
        assertThrows(IllegalArgumentException.class, () -> PairedComparison.of(right, new boolean[3], 1));
    }
}

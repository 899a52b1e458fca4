package ctlab.stats;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The multi-seed statistics against values computed independently (not with commons-math): the t quantiles and
 * intervals with mpmath 1.3 at 30 digits (Student-t CDF as the regularized incomplete beta, inverted with findroot),
 * the exact binomial tails with Python's fractions, both in /work/pyref-h3/bin/python:
 * <pre>
 *   t_{2, .975} = 4.30265272974946, t_{3, .975} = 3.18244630528371
 *   [0.40, 0.46, 0.43]: mean 0.43, sd 0.03, 95% CI [0.355475868647490, 0.504524131352510]
 *   [0.62, 0.58, 0.71, 0.66]: mean 0.6425, sd 0.0556027577253743, 95% CI [0.554023604556649, 0.730976395443351]
 *   two-sided exact binomial, 2 of 10 at 1/2: 112/1024 = 0.109375
 * </pre>
 */
class SeedStatsTest {
    @Test void tIntervalOverSeeds() {
        SeedMean a = SeedMean.of(0.40, 0.46, 0.43);
        assertEquals(0.43, a.mean(), 1e-12);
        assertEquals(0.03, a.sd(), 1e-12);
        assertEquals(0.355475868647490, a.lower(), 1e-9);
        assertEquals(0.504524131352510, a.upper(), 1e-9);
        SeedMean b = SeedMean.of(0.62, 0.58, 0.71, 0.66);
        assertEquals(0.6425, b.mean(), 1e-12);
        assertEquals(0.0556027577253743, b.sd(), 1e-12);
        assertEquals(0.554023604556649, b.lower(), 1e-9);
        assertEquals(0.730976395443351, b.upper(), 1e-9);
        assertArrayEquals(new double[] {0.62, 0.58, 0.71, 0.66}, b.values());
    }

    @Test void boundedQuantitiesGetTheirIntervalCut() {
        // [0.99, 1.0, 0.97]: mean 0.98, the t-interval reaches past 1
        SeedMean raw = SeedMean.of(0.99, 1.0, 0.97);
        assertTrue(raw.upper() > 1, "premise: " + raw.upper());
        SeedMean cut = raw.clippedTo(0, 1);
        assertEquals(1.0, cut.upper(), 0);
        assertEquals(raw.lower(), cut.lower(), 0);
        assertEquals(raw.mean(), cut.mean(), 0);
        assertTrue(Double.isNaN(SeedMean.of(0.5).clippedTo(0, 1).lower()), "one seed stays without an interval");
    }

    @Test void oneSeedHasNoInterval() {
        SeedMean a = SeedMean.of(0.5);
        assertEquals(0.5, a.mean());
        assertTrue(Double.isNaN(a.lower()) && Double.isNaN(a.upper()));
        assertThrows(IllegalArgumentException.class, SeedMean::of);
    }

    @Test void pooledMcNemarSumsTheDiscordantPairsOverSeeds() {
        // seeds: (method only, base only) = (3, 0), (1, 2), (4, 0): 8 vs 2 over all (seed, problem) pairs
        double pooled = PairedComparison.pooledMcNemarP(new int[] {3, 1, 4}, new int[] {0, 2, 0});
        assertEquals(0.109375, pooled, 1e-12);
        // not the same as any one seed's test
        assertNotEquals(PairedComparison.mcnemarExactP(4, 0), pooled, 1e-6);
        assertEquals(1.0, PairedComparison.pooledMcNemarP(new int[] {0, 0}, new int[] {0, 0}));
        assertThrows(IllegalArgumentException.class, () -> PairedComparison.pooledMcNemarP(new int[] {1}, new int[] {1, 2}));
    }
}

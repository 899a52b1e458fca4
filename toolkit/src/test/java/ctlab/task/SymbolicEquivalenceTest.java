package ctlab.task;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SymbolicEquivalenceTest {

    @Test
    void provesIdentitiesAndRejectsNearMisses() {
        assertTrue(SymbolicEquivalence.equal("x^2+2x+1", "(x+1)^2"));
        assertTrue(SymbolicEquivalence.equal("\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt{3}}{3}"));
        assertTrue(SymbolicEquivalence.equal("\\sqrt{50}", "5\\sqrt{2}"));
        assertTrue(SymbolicEquivalence.equal("2\\pi", "6.28319"));
        assertFalse(SymbolicEquivalence.equal("x^2+2x+1", "(x+1)^3"));
        assertFalse(SymbolicEquivalence.equal("2\\pi", "6.28"));
    }

    @Test
    void onlyPlainMathIsSentToSymja() {
        assertFalse(SymbolicEquivalence.eligible("\\binom{5}{2}"), "unknown command");
        assertFalse(SymbolicEquivalence.eligible("Evelyn"), "a word");
        assertFalse(SymbolicEquivalence.eligible("1,2"), "a list");
        assertFalse(SymbolicEquivalence.eligible("x=1"), "an equation");
        assertTrue(SymbolicEquivalence.eligible("\\frac{\\sqrt{3}}{2}\\pi r^2"));
    }

    @Test
    void workPastTheTimeLimitIsAbandonedAndTheNextComparisonWorks() throws InterruptedException {
        SymbolicEquivalence.equal("1", "1");  // start Symja outside the measured part
        String old = System.getProperty("ctlab.grader.symbolicTimeoutMs");
        System.setProperty("ctlab.grader.symbolicTimeoutMs", "100");
        CountDownLatch stopped = new CountDownLatch(1);
        long start = System.nanoTime();
        boolean result;
        try {
            result = SymbolicEquivalence.withinTimeLimit(() -> {
                while (!Thread.currentThread().isInterrupted()) Thread.onSpinWait();  // runs until told to stop
                stopped.countDown();
                return true;
            });
        } finally {
            if (old == null) System.clearProperty("ctlab.grader.symbolicTimeoutMs");
            else System.setProperty("ctlab.grader.symbolicTimeoutMs", old);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        assertFalse(result);
        assertTrue(seconds >= 0.1 && seconds < 5, "returned after " + seconds + " s for a 0.1 s limit");
        assertTrue(stopped.await(5, TimeUnit.SECONDS), "the abandoned worker is interrupted");
        assertTrue(SymbolicEquivalence.equal("x^2-1", "(x-1)(x+1)"), "a fresh worker takes over");
        assertFalse(SymbolicEquivalence.equal("(x+y+z+w+1)^{24}", "(w+z+y+x+2)^{24}-1"), "size limits end it early");
    }
}

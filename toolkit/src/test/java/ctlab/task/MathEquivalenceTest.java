package ctlab.task;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hand-written equivalence cases in both directions: a grader that says "equal" too easily is as broken as
 * one that misses equal answers. Columns: prediction | reference. ({@code ;} separates, since answers
 * contain commas.)
 */
class MathEquivalenceTest {

    @ParameterizedTest(name = "[{index}] {0}  ==  {1}")
    @CsvSource(delimiter = ';', quoteCharacter = '`', textBlock = """
            5 ; 5
            5.0 ; 5
            5.00 ; 5
            0.5 ; .5
            0.5 ; \\frac{1}{2}
            \\frac12 ; \\frac{1}{2}
            \\dfrac{1}{2} ; \\frac{1}{2}
            \\tfrac{3}{4} ; 0.75
            1/2 ; \\frac{1}{2}
            -\\frac{2}{3} ; \\frac{-2}{3}
            \\frac{14}{3} ; \\dfrac{14}{3}
            \\sqrt2 ; \\sqrt{2}
            \\frac{\\sqrt{2}}{2} ; \\frac{1}{\\sqrt{2}}
            2\\sqrt{3} ; \\sqrt{12}
            \\left( 3, \\frac{\\pi}{2} \\right) ; (3,\\frac{\\pi}{2})
            (1,2) ; (1, 2)
            [2,5) ; [2, 5)
            (-\\infty, 3] ; (-\\infty,3]
            (-\\infty,-2)\\cup(3,\\infty) ; (-\\infty, -2) \\cup (3, \\infty)
            \\{1,2,3\\} ; \\{3,2,1\\}
            1,2,3 ; 3, 1, 2
            -2 and 1 ; 1, -2
            x=5 ; 5
            5 ; x = 5
            y = 2x+3 ; 2x+3
            x^2+2x+1 ; (x+1)^2
            3\\pi ; 3 \\pi
            \\frac{\\pi}{2} ; \\pi/2
            90^\\circ ; 90
            90^{\\circ} ; 90
            50\\% ; 50
            50\\% ; 0.5
            0.5 ; 50\\%
            1,080 ; 1080
            1{,}080 ; 1080
            \\$18.50 ; 18.5
            10\\text{ cm} ; 10
            864 \\mbox{ inches}^2 ; 864
            \\text{(C)} ; (C)
            C ; \\text{(C)}
            \\text{Evelyn} ; Evelyn
            \\text{yes} ; Yes
            0.33333 ; \\frac{1}{3}
            3.1416 ; \\pi
            1.41421 ; \\sqrt{2}
            \\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix} ; \\begin{pmatrix}1\\\\2\\end{pmatrix}
            \\begin{pmatrix} -1 & 0.5 \\\\ 2 & 3 \\end{pmatrix} ; \\begin{pmatrix}-1&\\frac12\\\\2&3\\end{pmatrix}
            2x+3y=6 ; 3y+2x=6
            x+y=3 ; 3-x-y=0
            \\infty ; \\infty
            -\\infty ; -infinity
            \\boxed{7} ; 7
            \\frac{1+\\sqrt{5}}{2} ; \\frac{\\sqrt{5}+1}{2}
            \\sqrt{8} ; 2\\sqrt{2}
            """)
    void equivalent(String prediction, String reference) {
        assertTrue(MathEquivalence.equivalent(prediction, reference), prediction + " should equal " + reference);
    }

    @ParameterizedTest(name = "[{index}] {0}  !=  {1}")
    @CsvSource(delimiter = ';', quoteCharacter = '`', textBlock = """
            6 ; 5
            -5 ; 5
            0.5 ; 5
            0.333 ; \\frac{1}{3}
            0.33 ; \\frac{1}{3}
            100001 ; 100000
            \\frac{1}{2} ; \\frac{2}{1}
            \\sqrt{2} ; 2
            \\sqrt{3} ; \\sqrt{2}
            (1,2) ; (2,1)
            (1,2) ; [1,2]
            [2,5) ; [2,5]
            (1,2] ; (1,2)
            (1,2) ; 1,2
            1,2 ; 1,2,3
            \\{1,2\\} ; \\{1,3\\}
            (-\\infty,-2)\\cup(3,\\infty) ; (-\\infty,-2)\\cup[3,\\infty)
            x^2+2x+1 ; (x-1)^2
            2x ; 2y
            \\pi ; 3.14
            50 ; 0.5
            x=5 ; x=6
            y=2x+3 ; y=3x+2
            \\text{no} ; \\text{on}
            Evelyn ; Bob
            C ; D
            (A) ; (B)
            \\binom{5}{2} ; \\binom{2}{5}
            \\begin{pmatrix}1\\\\2\\end{pmatrix} ; \\begin{pmatrix}2\\\\1\\end{pmatrix}
            \\begin{pmatrix}1&2\\end{pmatrix} ; \\begin{pmatrix}1\\\\2\\end{pmatrix}
            \\infty ; -\\infty
            10 ; 10\\sqrt{2}
            3\\pi ; 3
            2 ; 2,2
            """)
    void notEquivalent(String prediction, String reference) {
        assertFalse(MathEquivalence.equivalent(prediction, reference), prediction + " should NOT equal " + reference);
    }

    @Test
    void missingOrEmptyAnswersAreNeverEqual() {
        assertFalse(MathEquivalence.equivalent(null, "5"));
        assertFalse(MathEquivalence.equivalent("", ""));
        assertFalse(MathEquivalence.equivalent("$ $", "5"));
    }

    @Test
    void pathologicalExpressionTimesOutInsteadOfHanging() {
        long before = System.nanoTime();
        String tower = "2^{2^{2^{2^{2^{2^{2^{2}}}}}}}";
        assertFalse(MathEquivalence.equivalent(tower + "+1", tower + "+2"));
        double seconds = (System.nanoTime() - before) / 1e9;
        // Bounded by the 2 s symbolic limit (plus Symja's one-off start); a hang would never get here.
        assertTrue(seconds < 60, "took " + seconds + " s");
        assertTrue(MathEquivalence.equivalent("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}"),
                "the worker must be usable again after a timeout");
    }

    @Test
    void gsm8kNumbersCompareExactlyUnlessDecimal() {
        assertTrue(MathEquivalence.numbersEqual("1,080", "1080"));
        assertTrue(MathEquivalence.numbersEqual("$18.00", "18"));
        assertTrue(MathEquivalence.numbersEqual("-3", "-3"));
        assertFalse(MathEquivalence.numbersEqual("123457", "123456"));
        assertFalse(MathEquivalence.numbersEqual("18", "180"));
        assertFalse(MathEquivalence.numbersEqual("eighteen", "18"));
        assertFalse(MathEquivalence.numbersEqual(null, "18"));
    }
}

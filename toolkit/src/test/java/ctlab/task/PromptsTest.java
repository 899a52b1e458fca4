package ctlab.task;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptsTest {
    @Test
    void zeroShotPromptsAreExactlyTheOfficialOnes() {
        assertEquals("Question: How many?\nAnswer: ", Task.GSM8K.prompt("How many?"));
        assertEquals("Problem: Find $x$.\nSolution: ", Task.MATH.prompt("Find $x$."));
        assertEquals("Question: How many?\nAnswer: ", Prompts.build(Task.GSM8K, "How many?", false));
    }

    @Test
    void fewShotPrefixesHaveTheOfficialShape() {
        String g = Prompts.GSM8K_8SHOT;
        assertEquals(8, count(g, "Question: "));
        assertEquals(8, count(g, "? \nAnswer: "));
        assertEquals(8, count(g, ". The answer is "));
        assertTrue(g.startsWith("Question: There are 15 trees in the grove."));
        assertTrue(g.endsWith("23 - 15 is 8. The answer is 8.\n\n"));
        String m = Prompts.MATH_4SHOT;
        assertEquals(4, count(m, "Problem: "));
        assertEquals(4, count(m, ". I hope it is correct.\n\n"));
        assertTrue(m.contains("Final Answer: The final answer is $-\\frac{2}{3}$. I hope it is correct."));
        assertTrue(m.contains("30n&=480\\\\\n\\Rightarrow\\qquad n&=480/30=\\boxed{16}"));
        // Each exemplar's boxed answer agrees with its "final answer is" line (the grader's two paths).
        for (String shot : m.split("\n\nProblem: ")) {
            String boxed = AnswerExtractor.lastBoxed(shot);
            String fin = shot.substring(shot.lastIndexOf("final answer is $") + 17, shot.lastIndexOf("$. I hope"));
            assertTrue(MathEquivalence.equivalent(boxed, fin), boxed + " vs " + fin);
        }
    }

    @Test
    void fewShotPromptIsPrefixPlusPromptStrippedLikeTheOfficialSampler() {
        String p = Prompts.build(Task.GSM8K, "How many?", true);
        assertTrue(p.startsWith(Prompts.GSM8K_8SHOT));
        assertTrue(p.endsWith("The answer is 8.\n\nQuestion: How many?\nAnswer:"));
        assertTrue(Prompts.build(Task.MATH, "Find $x$.", true).endsWith("I hope it is correct.\n\nProblem: Find $x$.\nSolution:"));
    }

    @Test
    void stopStrings() {
        assertEquals(List.of("\n\nQuestion:", ".\n\nQuestion:", "\n\nProblem:", ".\n\nProblem:"), Task.MATH.stopStrings());
        assertEquals(Task.MATH.stopStrings(), Task.GSM8K.stopStrings());
    }

    private static int count(String s, String sub) {
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) n++;
        return n;
    }
}

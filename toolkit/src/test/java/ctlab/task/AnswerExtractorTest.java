package ctlab.task;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class AnswerExtractorTest {

    @ParameterizedTest(name = "[{index}] {1}")
    @CsvSource(delimiter = '|', textBlock = """
            18     | She sells 16 - 3 - 4 = 9 eggs for 9 * 2 = 18 dollars. The answer is 18.
            18     | The answer is $18.\\n\\nQuestion: Tom has 5 apples
            1080   | So 3 * 360 = 1,080 in total. The answer is 1,080.
            -3     | The change is 2 - 5 = -3. the answer is -3
            2.5    | Each gets 5 / 2 = 2.5 cups. The answer is 2.5 cups.
            .5     | The answer is .5
            42     | 6 * 7 = <<6*7=42>>42\\n#### 42
            7      | First 3 + 4 = 7, so 7 in all
            109200000 | The total is 109,200,000.
            """)
    void gsm8k(String expected, String response) {
        assertEquals(expected, AnswerExtractor.gsm8k(response.replace("\\n", "\n")));
    }

    @Test
    void gsm8kFirstAnswerIsWinsOverLaterText() {
        assertEquals("6", AnswerExtractor.gsm8k("21 - 15 = 6. The answer is 6.\n\nQuestion: 3 cars. The answer is 5."));
        assertEquals("9", AnswerExtractor.gsm8k("4 + 5 = 9. The answer is unclear."), "falls through when no number follows");
        assertNull(AnswerExtractor.gsm8k("I do not know."));
        assertNull(AnswerExtractor.gsm8k(null));
    }

    @ParameterizedTest(name = "[{index}] {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            \\frac{14}{3}               | so $x = \\boxed{\\frac{14}{3}}$.
            \\left( 3, \\frac{\\pi}{2} \\right) | is $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$
            7                           | first \\boxed{3} then \\boxed{7}
            5                           | \\fbox{5}
            \\{1,2\\}                    | the set $\\boxed{\\{1,2\\}}$
            16                          | $n = \\boxed 16$
            [2,5)                       | Hence.\\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.
            -\\frac{2}{3}               | We get $a/b$ and $-\\frac{2}{3}$.
            24                          | It is $$24.$$
            \\$18.90                     | costs $\\$18.90$ total
            """)
    void math(String expected, String response) {
        assertEquals(expected, AnswerExtractor.math(response.replace("\\n", "\n")));
    }

    @Test
    void textAfterAStopStringIsNotTheAnswer() {
        assertEquals("24", AnswerExtractor.math("so $\\boxed{24}$.\nFinal Answer: The final answer is $24$. I hope it is correct."
                + "\n\nProblem: What is $2+2$?\nSolution: It is $\\boxed{4}$."));
        assertEquals("12", AnswerExtractor.gsm8k("3 * 4 = 12 apples.\n\nQuestion: Sam has 5 pens and buys 2. 5 + 2 = 7"));
    }

    @Test
    void mathWithoutAnyAnswerIsNull() {
        assertNull(AnswerExtractor.math("There is no closed form."));
        assertNull(AnswerExtractor.math("Unclosed \\boxed{3 + "));
        assertNull(AnswerExtractor.math(null));
    }
}

package ctlab.task;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The grader against the data sets' own references: each MATH500 solution's boxed answer must be judged
 * equal to the record's {@code answer}, and each GSM8K rationale must extract to its {@code ####} answer.
 */
class ReferenceSelfConsistencyTest {

    @Test
    void math500BoxedAnswersMatchReferenceAnswers() {
        List<Problem> problems = Task.MATH.load(SharedData.require(DataFile.MATH500));
        assertEquals(500, problems.size());
        List<String> misses = new ArrayList<>();
        long start = System.nanoTime();
        for (Problem p : problems) {
            Grade g = Grader.grade(Task.MATH, p.answer(), p.solution());
            if (!g.equal()) misses.add(p.id() + ": extracted " + g.extracted() + " | answer " + p.answer());
        }
        double rate = 1.0 - misses.size() / (double) problems.size();
        System.out.printf("MATH500 self-consistency: %d/%d = %.1f%% equal (%.1f s)%n",
                problems.size() - misses.size(), problems.size(), 100 * rate, (System.nanoTime() - start) / 1e9);
        misses.forEach(m -> System.out.println("  miss " + m));
        assertTrue(rate >= 0.99, "self-consistency " + rate + " below 99%: " + misses);
    }

    /**
     * The other direction on real answers: each MATH500 answer against the next problem's answer. Pairs whose
     * texts differ must almost never be judged equal; the ones that are get printed for inspection, and each
     * answer must still be recovered through the "Final Answer: ... $X$" and last-{@code $...$} paths.
     */
    @Test
    void math500DifferentAnswersAreNotEqualAndOtherExtractionPathsWork() {
        List<Problem> problems = Task.MATH.load(SharedData.require(DataFile.MATH500));
        List<String> equalPairs = new ArrayList<>();
        int compared = 0;
        for (int i = 0; i < problems.size(); i++) {
            String a = problems.get(i).answer(), b = problems.get((i + 1) % problems.size()).answer();
            if (a.equals(b)) continue;
            compared++;
            if (Task.MATH.isEquivalent(a, b)) equalPairs.add(a + "  ==  " + b);
        }
        System.out.printf("MATH500 neighbouring different answers judged equal: %d/%d%n", equalPairs.size(), compared);
        equalPairs.forEach(p -> System.out.println("  equal " + p));
        assertTrue(equalPairs.size() <= 3, "too many cross-problem matches: " + equalPairs);

        List<String> misses = new ArrayList<>();
        for (Problem p : problems) {
            String minerva = "Some work.\nFinal Answer: The final answer is $" + p.answer() + "$. I hope it is correct.";
            String dollars = "So the result is $" + p.answer() + "$.";
            if (!Grader.grade(Task.MATH, p.answer(), minerva).equal()) misses.add("final-answer " + p.id());
            if (!Grader.grade(Task.MATH, p.answer(), dollars).equal()) misses.add("last-dollar " + p.id());
        }
        misses.forEach(m -> System.out.println("  miss " + m));
        assertTrue(misses.size() <= 10, misses.toString());
    }

    @Test
    void gsm8kRationalesExtractToTheirFinalAnswers() {
        for (DataFile file : List.of(DataFile.GSM8K_TRAIN, DataFile.GSM8K_TEST)) {
            List<Problem> problems = Task.GSM8K.load(SharedData.require(file));
            List<String> misses = new ArrayList<>();
            for (Problem p : problems) {
                Grade g = Grader.grade(Task.GSM8K, p.answer(), p.solution());
                if (!g.equal() || !p.answer().equals(g.extracted())) {
                    misses.add(p.id() + ": extracted " + g.extracted() + " | answer " + p.answer());
                }
            }
            System.out.printf("GSM8K %s: %d/%d rationales extract to their #### answer%n",
                    file.key(), problems.size() - misses.size(), problems.size());
            misses.stream().limit(20).forEach(m -> System.out.println("  miss " + m));
            assertTrue(misses.isEmpty(), misses.size() + " misses, first: " + misses.stream().limit(5).toList());
        }
        assertEquals(7473, Task.GSM8K.load(SharedData.require(DataFile.GSM8K_TRAIN)).size());
    }
}

package ctlab.task.organism;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

class ProblemGeneratorTest {
    private static final Pattern EQUATION = Pattern.compile("(\\d+) ([-+*/]) (\\d+) = (\\d+)");
    private static final Pattern FINAL = Pattern.compile("The answer is (\\d+)\\.$");

    @Test
    void sameSeedSameProblemsOtherSeedOthers() {
        var a = new ProblemGenerator(Difficulty.standard(), 7).split(Split.TRAIN, 50);
        var b = new ProblemGenerator(Difficulty.standard(), 7).split(Split.TRAIN, 50);
        var c = new ProblemGenerator(Difficulty.standard(), 8).split(Split.TRAIN, 50);
        assertEquals(a, b);
        assertNotEquals(a.stream().map(OrganismProblem::question).toList(),
                c.stream().map(OrganismProblem::question).toList());
        // draw(i) alone reproduces the i-th draw
        var g = new ProblemGenerator(Difficulty.standard(), 7);
        assertEquals(g.draw(12345), new ProblemGenerator(Difficulty.standard(), 7).draw(12345));
    }

    @Test
    void everySolutionIsArithmeticallyCorrectAndEndsWithTheAnswer() {
        Difficulty d = Difficulty.standard();
        var g = new ProblemGenerator(d, 1);
        for (int i = 0; i < 3000; i++) {
            OrganismProblem p = g.draw(i);
            assertTrue(p.steps() >= d.minSteps() && p.steps() <= d.maxSteps(), p.toString());
            assertEquals(p.steps(), p.ops().size());
            Matcher f = FINAL.matcher(p.solution());
            assertTrue(f.find(), "no final answer sentence: " + p.solution());
            assertEquals(p.answer(), Long.parseLong(f.group(1)));
            Matcher m = EQUATION.matcher(p.solution());
            long last = -1;
            int equations = 0;
            while (m.find()) {
                long a = Long.parseLong(m.group(1)), b = Long.parseLong(m.group(3)), r = Long.parseLong(m.group(4));
                long expect = switch (m.group(2)) {
                    case "+" -> a + b;
                    case "-" -> a - b;
                    case "*" -> a * b;
                    default -> { assertEquals(0, a % b, "inexact division in " + p.solution()); yield a / b; }
                };
                assertEquals(expect, r, "wrong equation " + m.group() + " in " + p.solution());
                assertTrue(r >= 2 && r <= d.maxValue(), "value out of range in " + p.solution());
                last = r;
                equations++;
            }
            assertTrue(equations >= p.steps(), p.solution());
            assertEquals(p.answer(), last, "the last equation's result is the answer: " + p.solution());
            assertTrue(p.question().endsWith("?"));
            assertEquals("Question: " + p.question() + "\nAnswer: ", p.prompt());
        }
    }

    @Test
    void theGeneratorCoversEveryStepKindVerbsRelationsAndDistractors() {
        var g = new ProblemGenerator(Difficulty.standard(), 3);
        Set<String> ops = new HashSet<>();
        String all = g.split(Split.TRAIN, 2000).stream().peek(p -> ops.addAll(p.ops()))
                .map(OrganismProblem::question).collect(Collectors.joining("\n"));
        for (Op op : Op.values()) assertTrue(ops.contains(op.name()), "never generated " + op);
        for (String phrase : List.of("twice as many", "fewer", "more", "half as many", "gave", "received",
                "owes", "paid", "borrowed", "lost", "found", "equally among", "years old", "miles away"))
            assertTrue(all.contains(phrase), "never generated '" + phrase + "'");
        var few = g.split(Split.TRAIN, 300);
        for (int steps = 2; steps <= 4; steps++) {
            int s = steps;
            assertTrue(few.stream().anyMatch(p -> p.steps() == s), "no " + s + "-step problem");
        }
    }

    @Test
    void splitsAreDisjointByCanonicalFormEvenAcrossSeeds() {
        Map<Split, Set<String>> canon = new EnumMap<>(Split.class);
        Map<Split, Set<String>> questions = new EnumMap<>(Split.class);
        for (long seed : new long[] {1, 2}) {
            var g = new ProblemGenerator(Difficulty.standard(), seed);
            for (Split s : Split.values()) {
                for (OrganismProblem p : g.split(s, s == Split.TRAIN ? 3000 : 400)) {
                    assertEquals(s, p.split());
                    assertEquals(s, Split.of(p.canonical()));
                    canon.computeIfAbsent(s, k -> new HashSet<>()).add(p.canonical());
                    questions.computeIfAbsent(s, k -> new HashSet<>()).add(p.question());
                }
            }
        }
        for (Split a : Split.values())
            for (Split b : Split.values())
                if (a.ordinal() < b.ordinal()) {
                    Set<String> both = new HashSet<>(canon.get(a));
                    both.retainAll(canon.get(b));
                    assertTrue(both.isEmpty(), a + " and " + b + " share " + both);
                    Set<String> q = new HashSet<>(questions.get(a));
                    q.retainAll(questions.get(b));
                    assertTrue(q.isEmpty());
                }
        // the partition is roughly 80/10/10 over draws
        var g = new ProblemGenerator(Difficulty.standard(), 5);
        int test = 0;
        for (int i = 0; i < 5000; i++) if (g.draw(i).split() == Split.TEST) test++;
        assertTrue(test > 350 && test < 650, "test share " + test + "/5000");
    }

    @Test
    void idsAreStableAndUniqueWithinASplit() {
        var ps = new ProblemGenerator(Difficulty.standard(), 1).split(Split.TEST, 500);
        assertEquals(500, ps.stream().map(OrganismProblem::id).distinct().count());
        for (OrganismProblem p : ps) {
            assertTrue(p.id().matches("org-[0-9a-f]{12}"), p.id());
            assertEquals(p.id(), "org-" + ProblemGenerator.hex(Split.sha256(p.question())).substring(0, 12));
        }
    }

    @Test
    void difficultyKnobsAreRespectedAndValidated() {
        Difficulty easy = new Difficulty(2, 2, 10, 4, 30, 0.0);
        for (OrganismProblem p : new ProblemGenerator(easy, 1).split(Split.TRAIN, 300)) {
            assertEquals(2, p.steps());
            assertFalse(p.question().contains("years old") || p.question().contains("miles away")
                    || p.question().contains("minutes to walk"), p.question());
            assertTrue(p.answer() <= 30);
        }
        Difficulty noisy = new Difficulty(3, 3, 20, 9, 99, 1.0);
        for (OrganismProblem p : new ProblemGenerator(noisy, 1).split(Split.TRAIN, 50))
            assertTrue(p.question().split("\\. ").length >= 7, "distractor after every sentence: " + p.question());
        assertThrows(CtlabException.class, () -> new Difficulty(3, 2, 20, 9, 99, 0.1));
        assertThrows(CtlabException.class, () -> new Difficulty(2, 4, 20, 9, 10, 0.1));
        assertThrows(CtlabException.class, () -> new Difficulty(2, 4, 20, 9, 99, 1.5));
        assertThrows(CtlabException.class, () -> new Difficulty(0, 4, 20, 9, 99, 0.1));
    }

    @Test
    void splitsRoundTripThroughJsonlAndBadFilesAreNamed(@TempDir Path dir) throws Exception {
        var g = new ProblemGenerator(Difficulty.standard(), 11);
        var written = OrganismData.write(dir, g, Map.of(Split.TRAIN, 40, Split.VALIDATION, 10, Split.TEST, 10));
        for (Split s : Split.values()) assertEquals(written.get(s), OrganismData.read(dir.resolve(s.fileName())));
        assertTrue(Files.readString(dir.resolve(OrganismData.MANIFEST)).contains("\"seed\" : 11"));

        Path bad = dir.resolve("bad.jsonl");
        String good = Files.readAllLines(dir.resolve("test.jsonl")).get(0);
        Files.writeString(bad, good + "\n" + good.replace("\"split\":\"test\"", "\"split\":\"train\"") + "\n");
        var e = assertThrows(CtlabException.class, () -> OrganismData.read(bad));
        assertTrue(e.getMessage().contains("bad.jsonl:2") && e.getMessage().contains("split"), e.getMessage());

        Files.writeString(bad, good.replaceAll(",\"solution\":\"[^\"]*\"", "") + "\n");
        e = assertThrows(CtlabException.class, () -> OrganismData.read(bad));
        assertTrue(e.getMessage().contains("bad.jsonl:1") && e.getMessage().contains("'solution'"), e.getMessage());
    }
}

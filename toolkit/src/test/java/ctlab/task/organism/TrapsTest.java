package ctlab.task.organism;

import com.fasterxml.jackson.databind.JsonNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import ctlab.model.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Organism v2: planted traps, their ground truth, the branch classifier, and the untouched v1 organism. */
class TrapsTest {
    static final Difficulty D = PretrainConfig.trapsRecipe().difficulty();
    @TempDir static Path dir;
    static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        OrganismTokenizer.write(dir, true);
        tokenizer = Tokenizer.load(dir);
    }

    @AfterAll
    static void close() { tokenizer.close(); }

    @Test
    void theV1OrganismKeepsItsProblemsAndItsVocabulary() throws Exception {
        var v1 = new ProblemGenerator(Difficulty.standard(), 1);
        var v2 = new ProblemGenerator(Difficulty.standard(), 1, Traps.standard());
        var none = new ProblemGenerator(Difficulty.standard(), 1, new Traps(List.of("donate"), 0.0, List.of(0.5)));
        int untrapped = 0;
        for (int i = 0; i < 2000; i++) {
            OrganismProblem a = v1.draw(i);
            assertNull(a.trap());
            assertEquals(a, none.draw(i), "trap rate 0 must give the v1 problem " + i);
            OrganismProblem b = v2.draw(i);
            if (b.trap() == null) {   // the trap decisions draw from their own stream: untrapped problems are v1's
                assertEquals(a, b, "problem " + i);
                untrapped++;
            }
        }
        assertTrue(untrapped > 1000 && untrapped < 1800, untrapped + " of 2000 without a trap at rate 0.3");
        // the shipped base model's tokenizer is still exactly the v1 vocabulary; v2 only appends words
        Path shipped = OrganismBaseModelTest.modelDir();
        if (shipped != null) {
            JsonNode vocab = Jsonl.MAPPER.readTree(Files.readString(shipped.resolve("tokenizer.json"))).path("model").path("vocab");
            Map<String, Integer> committed = new LinkedHashMap<>();
            vocab.fields().forEachRemaining(e -> committed.put(e.getKey(), e.getValue().asInt()));
            assertEquals(committed, OrganismTokenizer.vocabulary());
        }
        Map<String, Integer> v1Vocab = OrganismTokenizer.vocabulary(), v2Vocab = OrganismTokenizer.vocabulary(true);
        assertTrue(v2Vocab.size() > v1Vocab.size());
        v1Vocab.forEach((t, id) -> assertEquals(id, v2Vocab.get(t), t));
    }

    /** Acceptance: the planted position and everything else in the ground truth, re-derived for thousands of problems. */
    @Test
    void groundTruthIsRederivedFromTheCanonicalFormForThousandsOfProblems() {
        Traps traps = Traps.standard();
        var g = new ProblemGenerator(D, 3, traps);
        int checked = 0, flipped = 0;
        int unk = tokenizer.specialTokenId(OrganismTokenizer.UNK);
        Set<String> families = new HashSet<>();
        for (int i = 0; checked < 3000; i++) {
            OrganismProblem p = g.draw(i);
            if (p.trap() == null) continue;
            checked++;
            Trap t = p.trap();
            TrapFamily f = t.trapFamily();
            families.add(t.family());
            String where = p.solution();
            // the canonical form: FAMILY|start|ARITH:k[xm]|... ; replay it along both branches
            String[] parts = p.canonical().split("\\|");
            assertEquals(p.steps() + 2, parts.length, p.canonical());
            long value = Long.parseLong(parts[1]), before = -1, trapValue = -1;
            for (int s = 0; s < p.steps(); s++) {
                String[] ak = parts[s + 2].split(":");
                if (s == t.step()) {
                    assertEquals(f.arith.name(), ak[0], where);
                    before = value;
                    trapValue = f.apply(t.trapOp(), value, Long.parseLong(ak[1]));
                }
                value = step(ak[0], ak[1], value);
                if (s > t.step()) trapValue = step(ak[0], ak[1], trapValue);
            }
            assertEquals(p.answer(), value, "answer from the canonical form: " + where);
            assertEquals(t.trapAnswer(), trapValue, "trap answer from the canonical form: " + where);
            assertNotEquals(p.answer(), t.trapAnswer());

            int[] ids = tokenizer.encodeResponse(p.solution());
            assertFalse(Arrays.stream(ids).anyMatch(id -> id == unk), where);
            assertEquals(t.correctOp() + " ", token(ids[t.position()]), where);
            // the tokens before the operator are the trap sentence's anchor, value before the step and a space
            String prefix = tokenizer.decode(Arrays.stream(ids, 0, t.position()).asLongStream().toArray());
            assertTrue(prefix.endsWith(" " + before + " "), prefix);
            assertTrue(prefix.substring(prefix.lastIndexOf(". ") + 2).contains(f.anchor), prefix);
            String operand = f.arith == Op.Arith.DIV ? "2" : parts[t.step() + 2].split(":")[1];
            assertEquals(operand, tokenizer.decode(Arrays.stream(ids, t.position() + 1, t.position() + 1 + operand.length())
                    .asLongStream().toArray()), where);
            assertEquals(new TrapTruth.Hit(t.position(), TrapTruth.Branch.CORRECT), TrapTruth.locate(tokenizer, p, ids));

            // context and p: the context word is in the question and p is the recipe's p for it
            int ctx = f.contexts.indexOf(t.context());
            assertTrue(ctx >= 0 && ctx < traps.p().size(), t.context());
            assertTrue(p.question().contains(" " + t.context()), p.question());
            assertEquals(traps.p().get(ctx), t.p());
            if (t.pretrainSolution() != null) {
                flipped++;
                assertEquals(Split.TRAIN, p.split(), "only the pretraining corpus is biased");
                int[] w = tokenizer.encodeResponse(t.pretrainSolution());
                assertArrayEquals(Arrays.copyOf(ids, t.position()), Arrays.copyOf(w, t.position()));
                assertEquals(new TrapTruth.Hit(t.position(), TrapTruth.Branch.TRAP), TrapTruth.locate(tokenizer, t, w));
                assertTrue(t.pretrainSolution().endsWith("The answer is " + t.trapAnswer() + "."), t.pretrainSolution());
            }
        }
        assertEquals(Set.of("donate", "lend", "half_away", "forgive"), families);
        assertTrue(flipped > 0);
    }

    @Test
    void theCorpusTakesTheTrapOperatorWithProbabilityPPerContext() {
        Traps traps = new Traps(List.of("donate", "forgive"), 0.5, List.of(0.9, 0.1));
        var g = new ProblemGenerator(D, 5, traps);
        Map<Double, int[]> byP = new HashMap<>();
        int trapped = 0;
        List<OrganismProblem> train = g.split(Split.TRAIN, 4000);
        for (OrganismProblem p : train) {
            if (p.trap() == null) continue;
            trapped++;
            assertTrue(Set.of("donate", "forgive").contains(p.trap().family()), p.trap().family());
            int[] c = byP.computeIfAbsent(p.trap().p(), k -> new int[2]);
            c[0]++;
            if (p.trap().pretrainSolution() != null) c[1]++;
            assertEquals(p.pretrainSolution(), p.trap().pretrainSolution() != null ? p.trap().pretrainSolution() : p.solution());
        }
        assertEquals(Set.of(0.9, 0.1), byP.keySet());
        assertTrue(Math.abs(trapped / 4000.0 - 0.5) < 0.05, trapped + " trapped of 4000 at rate 0.5");
        for (var e : byP.entrySet()) {
            double share = e.getValue()[1] / (double) e.getValue()[0];
            assertTrue(Math.abs(share - e.getKey()) < 0.05, "p " + e.getKey() + ": corpus took the trap in " + share);
        }
        for (Split s : List.of(Split.VALIDATION, Split.TEST))
            for (OrganismProblem p : g.split(s, 300)) {
                if (p.trap() != null) assertNull(p.trap().pretrainSolution(), "eval splits are labelled correctly");
                assertEquals(p.solution(), p.pretrainSolution());
            }
    }

    @Test
    void theBranchClassifierReadsConstructedResponses() {
        var g = new ProblemGenerator(D, 7, Traps.standard());
        int seen = 0;
        for (int i = 0; seen < 200; i++) {
            OrganismProblem p = g.draw(i);
            if (p.trap() == null) continue;
            seen++;
            Trap t = p.trap();
            String s = p.solution();
            int cut = s.indexOf(t.trapFamily().anchor);
            int opAt = s.indexOf(" " + t.correctOp() + " ", cut) + 1;
            String head = s.substring(0, opAt), tail = s.substring(opAt + 1);
            // correct, trap and another operator at the planted position
            assertEquals(new TrapTruth.Hit(t.position(), TrapTruth.Branch.CORRECT), at(p, head + t.correctOp() + tail));
            assertEquals(new TrapTruth.Hit(t.position(), TrapTruth.Branch.TRAP), at(p, head + t.trapOp() + tail));
            assertEquals(new TrapTruth.Hit(t.position(), TrapTruth.Branch.OTHER), at(p, head + "*" + tail));
            // an extra sentence before shifts the position by its tokens
            String extra = "Mia has 5 apples. ";
            int shift = tokenizer.encodeResponse(extra).length;
            assertEquals(new TrapTruth.Hit(t.position() + shift, TrapTruth.Branch.TRAP), at(p, extra + head + t.trapOp() + tail));
            // a different value before the operator (an earlier slip) still finds the trap's operator
            String slipped = head.replaceAll("\\d+ $", "97 ");
            assertEquals(TrapTruth.Branch.TRAP, at(p, slipped + t.trapOp() + tail).branch());
            // no operator before the sentence ends, or no trap wording at all: not reached
            assertEquals(new TrapTruth.Hit(-1, TrapTruth.Branch.OTHER), at(p, s.substring(0, cut + t.trapFamily().anchor.length())
                    + "5 apples. The answer is 5."));
            assertEquals(new TrapTruth.Hit(-1, TrapTruth.Branch.OTHER), at(p, s.substring(0, cut) + "The answer is 5."));
        }
        OrganismProblem clean = new ProblemGenerator(D, 7).draw(0);
        assertThrows(CtlabException.class, () -> TrapTruth.locate(tokenizer, clean, new int[0]));
    }

    @Test
    void trapFieldsRoundTripThroughTheDataFilesAndBadOnesAreNamed(@TempDir Path data) throws Exception {
        var g = new ProblemGenerator(D, 11, Traps.standard());
        var written = OrganismData.write(data, g, Map.of(Split.TRAIN, 200, Split.VALIDATION, 20, Split.TEST, 40));
        for (Split s : Split.values()) assertEquals(written.get(s), OrganismData.read(data.resolve(s.fileName())));
        assertTrue(written.get(Split.TEST).stream().anyMatch(p -> p.trap() != null));
        assertTrue(Files.readString(data.resolve(OrganismData.MANIFEST)).contains("\"traps\""));
        String line = Files.readAllLines(data.resolve("test.jsonl")).stream().filter(l -> l.contains("\"trap\":{"))
                .findFirst().orElseThrow();
        Path bad = data.resolve("bad.jsonl");
        Files.writeString(bad, line + "\n" + line.replaceFirst("\"position\":\\d+", "\"position\":\"x\"") + "\n");
        var e = assertThrows(CtlabException.class, () -> OrganismData.read(bad));
        assertTrue(e.getMessage().contains("bad.jsonl:2") && e.getMessage().contains("'position'"), e.getMessage());
        Files.writeString(bad, line.replaceFirst("\"family\":\"[a-z_]+\"", "\"family\":\"owes\"") + "\n");
        e = assertThrows(CtlabException.class, () -> OrganismData.read(bad));
        assertTrue(e.getMessage().contains("bad.jsonl:1") && e.getMessage().contains("'owes'"), e.getMessage());
    }

    @Test
    void trapKnobsAreValidated() {
        assertTrue(assertThrows(CtlabException.class, () -> new Traps(List.of("owed"), 0.3, List.of(0.8)))
                .getMessage().contains("'owed'"));
        assertThrows(CtlabException.class, () -> new Traps(List.of(), 0.3, List.of(0.8)));
        assertThrows(CtlabException.class, () -> new Traps(List.of("lend", "lend"), 0.3, List.of(0.8)));
        assertTrue(assertThrows(CtlabException.class, () -> new Traps(List.of("lend"), 1.5, List.of(0.8)))
                .getMessage().contains("'rate'"));
        assertTrue(assertThrows(CtlabException.class, () -> new Traps(List.of("lend"), 0.3, List.of(0.8, 1.2)))
                .getMessage().contains("'p'"));
        assertThrows(CtlabException.class, () -> new Traps(List.of("lend"), 0.3, List.of(0.1, 0.2, 0.3, 0.4)));
        // the recipe with traps survives its JSON form (pretrain_config.json), and older files read as v1
        PretrainConfig c = PretrainConfig.trapsRecipe();
        assertEquals(c, Jsonl.MAPPER.convertValue(Jsonl.MAPPER.valueToTree(c), PretrainConfig.class));
        var old = (com.fasterxml.jackson.databind.node.ObjectNode) Jsonl.MAPPER.valueToTree(PretrainConfig.standard());
        old.remove("traps");
        assertEquals(PretrainConfig.standard(), Jsonl.MAPPER.convertValue(old, PretrainConfig.class));
    }

    private TrapTruth.Hit at(OrganismProblem p, String response) {
        return TrapTruth.locate(tokenizer, p, tokenizer.encodeResponse(response));
    }

    private static final Map<String, Integer> VOCAB = OrganismTokenizer.vocabulary(true);

    private static String token(int id) {
        for (var e : VOCAB.entrySet()) if (e.getValue() == id) return e.getKey();
        return null;
    }

    private static long step(String arith, String k, long x) {
        String[] km = k.split("x");
        long a = Long.parseLong(km[0]), m = km.length > 1 ? Long.parseLong(km[1]) : 0;
        return switch (Op.Arith.valueOf(arith)) {
            case ADD -> x + a;
            case SUB -> x - a;
            case ADD_GROUPS -> x + a * m;
            case SUB_GROUPS -> x - a * m;
            case MUL -> x * a;
            case DIV -> { assertEquals(0, x % a); yield x / a; }
        };
    }
}

package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The multi-seed aggregate of {@code ctlab ablate --seeds}, on hand-made eval and train files with hand-checked numbers. */
class GridAblationTest {
    @TempDir Path tmp;

    static final List<String> METHODS = List.of("base", "dpo", "cdpo");

    void eval(Path dir, String method, boolean... correct) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < correct.length; i++)
            sb.append("{\"problem_id\":\"q").append(i).append("\",\"method\":\"").append(method)
              .append("\",\"correct\":").append(correct[i]).append("}\n");
        Files.createDirectories(dir.resolve("08-eval"));
        Files.writeString(dir.resolve("08-eval/eval-" + method + ".jsonl"), sb.toString());
    }

    void metrics(Path dir, String loss, double... chosenRejected) throws Exception {
        StringBuilder sb = new StringBuilder("{\"stage\":\"train\",\"time\":\"t\"}\n");   // not a step record: skipped
        for (int i = 0; i < chosenRejected.length; i += 2)
            sb.append("{\"step\":").append(i / 2 + 1).append(",\"loss\":0.6,\"logps/chosen\":").append(chosenRejected[i])
              .append(",\"logps/rejected\":").append(chosenRejected[i + 1]).append("}\n");
        Files.createDirectories(dir.resolve("07-train").resolve(loss));
        Files.writeString(dir.resolve("07-train").resolve(loss).resolve("metrics.jsonl"), sb.toString());
    }

    /** Two seeds, four problems (q0, q1 have a trap), base/dpo/cdpo. */
    ObjectNode twoSeeds(String splitBy) throws Exception {
        AblationGrid grid = AblationGrid.parse(List.of("1", "2"), List.of());
        List<AblationGrid.SubRun> runs = grid.subRuns(tmp);
        assertEquals(tmp.resolve("seed-1"), runs.get(0).dir());
        Path s1 = runs.get(0).dir(), s2 = runs.get(1).dir();
        eval(s1, "base", true, false, false, false);
        eval(s1, "dpo", true, true, false, false);
        eval(s1, "cdpo", true, true, true, false);
        eval(s2, "base", true, false, false, false);
        eval(s2, "dpo", false, false, false, false);
        eval(s2, "cdpo", true, true, true, true);
        metrics(s1, "dpo", -10, -11, -12, -15);
        metrics(s2, "dpo", -8, -9, -10, -13);
        Path test = tmp.resolve("test.jsonl");
        Files.writeString(test, "{\"id\":\"q0\",\"trap\":true}\n{\"id\":\"q1\",\"trap\":true}\n"
                + "{\"id\":\"q2\",\"trap\":false}\n{\"id\":\"q3\",\"trap\":false}\n");
        List<GridAblation.Cell> cells = runs.stream().map(r -> new GridAblation.Cell(r, test)).toList();
        return GridAblation.aggregate(grid, cells, METHODS, "08-eval", "07-train", splitBy, Jsonl.MAPPER.createObjectNode());
    }

    static JsonNode method(ObjectNode agg, String m) {
        for (JsonNode r : agg.get("points").get(0).get("methods")) if (r.get("method").asText().equals(m)) return r;
        throw new AssertionError(m);
    }

    @Test void meanOverSeedsTIntervalPerSeedAndPooledMcNemar() throws Exception {
        ObjectNode agg = twoSeeds(null);
        assertEquals("[1,2]", agg.get("seeds").toString());
        JsonNode cdpo = method(agg, "cdpo");
        JsonNode acc = cdpo.get("accuracy");
        assertEquals(0.875, acc.get("mean").asDouble(), 1e-12);                 // (3/4 + 4/4) / 2
        assertEquals("[0.75,1.0]", acc.get("per_seed").toString());
        // t_{1, .975} = 12.7062047361747 (mpmath, as in SeedStatsTest), sd = 0.25/sqrt(2): half width 12.7062047361747 * 0.125
        // = [-0.713, 2.463], cut to the accuracy's range [0, 1]
        assertEquals(0.0, acc.get("lower").asDouble(), 0);
        assertEquals(1.0, acc.get("upper").asDouble(), 0);
        // vs base: seed 1 cdpo-only 2, base-only 0; seed 2 cdpo-only 3: per seed 2/4 and 2/8, pooled 5 vs 0 = 2/32
        assertEquals(0.5, cdpo.get("p_vs_base").get("per_seed").get(0).asDouble(), 1e-12);
        assertEquals(0.25, cdpo.get("p_vs_base").get("per_seed").get(1).asDouble(), 1e-12);
        assertEquals(0.0625, cdpo.get("p_vs_base").get("pooled").asDouble(), 1e-12);
        // vs dpo: 1 vs 0 and 4 vs 0 -> pooled 5 vs 0
        assertEquals("[1,4]", cdpo.get("p_vs_dpo").get("only_method").toString());
        assertEquals(0.0625, cdpo.get("p_vs_dpo").get("pooled").asDouble(), 1e-12);
        assertFalse(method(agg, "base").has("p_vs_base"));
        assertFalse(method(agg, "dpo").has("p_vs_dpo"));
        assertEquals("[4,4]", cdpo.get("problems").toString());

        // DPO's likelihoods, mean over seeds per step: chosen -9, -11; rejected -10, -14
        JsonNode series = agg.get("points").get(0).get("likelihood").get("dpo").get("series");
        assertEquals(2, series.size());
        assertEquals(-9.0, series.get(0).get("chosen").asDouble(), 1e-12);
        assertEquals(-14.0, series.get(1).get("rejected").asDouble(), 1e-12);
        assertFalse(agg.get("points").get(0).get("likelihood").has("cdpo"), "no metrics file, no series");

        String md = GridAblation.markdown(agg);
        assertTrue(md.contains("| cdpo | 87.5% | [0.0, 100.0] | 75.0, 100.0 | 0.500, 0.250 | 0.0625 | 1.00, 0.125 | 0.0625 |"), md);
        assertTrue(md.contains("| dpo | 1–2 | -9.00 | -11.00 | -10.00 | -14.00 |"), md);
    }

    @Test void splitByReadsTheAttributeFromTheTestDataOrTheEvalRecords() throws Exception {
        ObjectNode agg = twoSeeds("trap");
        JsonNode sub = method(agg, "cdpo").get("subsets");
        assertEquals("[1.0,1.0]", sub.get("true").get("per_seed").toString());
        assertEquals("[0.5,1.0]", sub.get("false").get("per_seed").toString());
        assertEquals(0.75, sub.get("false").get("mean").asDouble(), 1e-12);
        assertEquals("[2,2]", sub.get("false").get("problems").toString());
        // pooled over seeds within each subset, cdpo vs base:
        // trap q0, q1: base (T, F) both seeds, cdpo (T, T) both seeds -> 2 vs 0 = p 0.5; no-trap: 1 + 2 vs 0 = p 0.25
        assertEquals(0.5, sub.get("true").get("pooled_p_vs_base").asDouble(), 1e-12);
        assertEquals(0.25, sub.get("false").get("pooled_p_vs_base").asDouble(), 1e-12);
        String md = GridAblation.markdown(agg);
        assertTrue(md.contains("| method | trap=false | trap=true |"), md);
        // trap problems, cdpo vs dpo: seed 1 none discordant, seed 2 cdpo-only 2 -> 2 vs 0 = p 0.5
        assertTrue(md.contains("| 100.0% [100.0, 100.0]; n [2,2]; pooled p vs base 0.500, vs dpo 0.500 |"), md);

        // a field the eval records carry wins over the data file
        Path s1 = tmp.resolve("seed-1/08-eval/eval-base.jsonl");
        Files.writeString(s1, Files.readString(s1).replace("\"method\"", "\"family\":\"owes\",\"method\""));
        Path s2 = tmp.resolve("seed-2/08-eval/eval-base.jsonl");
        Files.writeString(s2, Files.readString(s2).replace("\"method\"", "\"family\":\"lent\",\"method\""));
        AblationGrid grid = AblationGrid.parse(List.of("1", "2"), List.of());
        List<GridAblation.Cell> cells = grid.subRuns(tmp).stream().map(r -> new GridAblation.Cell(r, tmp.resolve("test.jsonl"))).toList();
        JsonNode fam = method(GridAblation.aggregate(grid, cells, METHODS, "08-eval", "07-train", "family",
                Jsonl.MAPPER.createObjectNode()), "cdpo").get("subsets");
        // seed 2 has no 'owes' problem: no value for it (not 0%), and the mean is over seed 1 alone
        assertEquals("[0.75,null]", fam.get("owes").get("per_seed").toString());
        assertEquals(0.75, fam.get("owes").get("mean").asDouble(), 1e-12);
        assertTrue(fam.get("owes").get("lower").isNull(), "one seed: no interval");
        assertEquals("[0,4]", fam.get("lent").get("problems").toString());

        CtlabException e = assertThrows(CtlabException.class, () -> twoSeeds("nosuchfield"));
        assertTrue(e.getMessage().startsWith("--split-by nosuchfield: no record in "), e.getMessage());
    }

    @Test void severalValuesAndProblemsWithoutOneGetAnAnySubset() throws Exception {
        twoSeeds(null);                                       // the eval files; q0, q1 are trap problems of two families
        Files.writeString(tmp.resolve("test.jsonl"), "{\"id\":\"q0\",\"trap\":\"lend\"}\n{\"id\":\"q1\",\"trap\":\"donate\"}\n"
                + "{\"id\":\"q2\",\"trap\":null}\n{\"id\":\"q3\"}\n");
        AblationGrid grid = AblationGrid.parse(List.of("1", "2"), List.of());
        List<GridAblation.Cell> cells = grid.subRuns(tmp).stream().map(r -> new GridAblation.Cell(r, tmp.resolve("test.jsonl"))).toList();
        ObjectNode agg = GridAblation.aggregate(grid, cells, METHODS, "08-eval", "07-train", "trap", Jsonl.MAPPER.createObjectNode());
        JsonNode cdpo = method(agg, "cdpo").get("subsets"), base = method(agg, "base").get("subsets");
        assertEquals(List.of("(any)", "(none)", "donate", "lend"), iterator(cdpo.fieldNames()));
        // (any) = q0 + q1 per seed: base (T, F) -> 0.5 both seeds, cdpo (T, T) -> 1.0; pooled vs base 2 vs 0 -> p 0.5
        assertEquals("[0.5,0.5]", base.get("(any)").get("per_seed").toString());
        assertEquals("[1.0,1.0]", cdpo.get("(any)").get("per_seed").toString());
        assertEquals("[2,2]", cdpo.get("(any)").get("problems").toString());
        assertEquals(0.5, cdpo.get("(any)").get("pooled_p_vs_base").asDouble(), 1e-12);
        assertEquals("[0.5,1.0]", cdpo.get("(none)").get("per_seed").toString(), "q2, q3 as before");
        // one value, or no problem without one: nothing to add (the earlier tests' true/false split)
        assertFalse(method(twoSeeds("trap"), "cdpo").get("subsets").has("(any)"));
    }

    static List<String> iterator(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test void gridPointsAndFolders() {
        AblationGrid g = AblationGrid.parse(List.of("3", "1"), List.of("train.lr=1e-5,4e-5", "ce.beta=0.5"));
        List<AblationGrid.SubRun> runs = g.subRuns(tmp);
        assertEquals(4, runs.size());
        assertEquals(tmp.resolve("seed-3/train.lr=1e-5/ce.beta=0.5"), runs.get(0).dir());
        assertEquals(List.of("seed=3", "train.lr=1e-5", "ce.beta=0.5"), runs.get(0).overrides());
        assertEquals("seed-1/train.lr=4e-5/ce.beta=0.5", runs.get(3).label());
        assertEquals(Map.of("train.lr", "4e-5", "ce.beta", "0.5"), runs.get(3).point());
    }

    @Test void badGridSpellingIsOneLine() {
        assertEquals("--seeds: 'x' is not a whole number",
                assertThrows(CtlabException.class, () -> AblationGrid.parse(List.of("1", "x"), List.of())).getMessage());
        assertEquals("--seeds: 2 is given twice",
                assertThrows(CtlabException.class, () -> AblationGrid.parse(List.of("2", "2"), List.of())).getMessage());
        assertEquals("--grid train.lr: the key is given twice", assertThrows(CtlabException.class,
                () -> AblationGrid.parse(List.of("1"), List.of("train.lr=1", "train.lr=2"))).getMessage());
        assertEquals("--grid seed: use --seeds for seed", assertThrows(CtlabException.class,
                () -> AblationGrid.parse(List.of("1"), List.of("seed=1,2"))).getMessage());
        assertEquals("--grid train.lr: value '../x' must be a plain word or number (it names a folder)", assertThrows(CtlabException.class,
                () -> AblationGrid.parse(List.of("1"), List.of("train.lr=../x"))).getMessage());
        assertEquals("--grid train.lr: expected KEY=V1,V2 (e.g. --grid train.lr=1e-5,4e-5)", assertThrows(CtlabException.class,
                () -> AblationGrid.parse(List.of("1"), List.of("train.lr"))).getMessage());
    }
}

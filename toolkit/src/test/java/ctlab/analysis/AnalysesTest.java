package ctlab.analysis;

import ctlab.CtlabException;
import ctlab.critical.RolloutProbe;
import ctlab.io.AtomicFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Row;
import tech.tablesaw.api.Table;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class AnalysesTest {
    @TempDir Path tmp;

    private RunTables tables(int problems, int lastStage) throws Exception {
        return new RunTables(RunData.load(new SyntheticRun(problems).write(tmp.resolve("run"), lastStage)), SyntheticRun.TEXTS);
    }

    @Test void tokenClasses() {
        assertEquals(TokenClass.DIGIT, TokenClass.of("7"));
        assertEquals(TokenClass.NUMBER, TokenClass.of(" 1,250"));
        assertEquals(TokenClass.NUMBER, TokenClass.of("3.5"));
        assertEquals(TokenClass.OPERATOR, TokenClass.of(" +"));
        assertEquals(TokenClass.OPERATOR, TokenClass.of("="));
        assertEquals(TokenClass.RELATION_WORD, TokenClass.of("Ġmore"));
        assertEquals(TokenClass.VERB, TokenClass.of(" owed"));
        assertEquals(TokenClass.OTHER, TokenClass.of("apples"));
        assertEquals(TokenClass.OTHER, TokenClass.of("\n"));
        assertEquals("relation word", TokenClass.RELATION_WORD.label());
    }

    @Test void tokenTableHasEveryResponseTokenWithScoresRolloutAndDerivedColumns() throws Exception {
        SyntheticRun run = new SyntheticRun(8);
        RunTables t = new RunTables(RunData.load(run.write(tmp.resolve("run"), 8)), SyntheticRun.TEXTS);
        Table tokens = t.tokens();
        RunData d = t.data();
        int expected = d.scoredPairs().stream().mapToInt(p -> p.pos().responseTokenCount() + p.neg().responseTokenCount()).sum();
        assertEquals(expected, tokens.rowCount());
        // every rejected trajectory got its rollout (linked through graded sample id → rejected text)
        assertEquals(8, t.scoredRollouts().size());
        Table crit = tokens.where(tokens.booleanColumn("critical").isTrue());
        assertEquals(8, crit.rowCount());
        for (Row r : crit) {
            assertEquals("owed", r.getString("token"));
            assertEquals("verb", r.getString("token_class"));
            assertEquals(1, r.getInt("step"));                      // second line of the response
            assertEquals(0.0, r.getDouble("with_rate"));
            assertTrue(r.getDouble("without_rate") > 0);
            // the first wrong number is a − b, after "owed": negative distance
            assertTrue(r.getInt("dist_first_wrong") < 0, "critical token precedes the first wrong number");
        }
        // chosen side has no rollout columns and no critical flag
        Table chosen = tokens.where(tokens.stringColumn("side").isEqualTo("chosen"));
        assertTrue(chosen.doubleColumn("with_rate").isMissing().size() == chosen.rowCount());
        // s matches the pair's scores token by token
        double[] s0 = d.scoredPairs().get(0).neg().responseScores();
        Table first = tokens.where(tokens.stringColumn("trajectory").isEqualTo("p0/pair0/rejected"));
        for (int i = 0; i < s0.length; i++) assertEquals(s0[i], first.doubleColumn("s").get(i), 0);
        Table traj = t.trajectories();
        assertEquals(16, traj.rowCount());
        Row r0 = traj.where(traj.stringColumn("trajectory").isEqualTo("p0/pair0/rejected")).row(0);
        assertEquals(run.criticalPositions.get(0), r0.getInt("critical"));
        assertEquals(r0.getInt("critical"), r0.getInt("argmin_s"));     // planted: lowest s at the critical token
        assertEquals(0.75, r0.getDouble("baseline_rate"), 1e-12);
        assertTrue(r0.getInt("first_wrong_number") > r0.getInt("critical"));
    }

    @Test void firstWrongNumberIgnoresNumbersOfPromptAndChosen() {
        List<String> toks = SyntheticRun.TEXTS.split("so 5 - 3 = 2 and 12");
        assertEquals(toks.indexOf("2"), RunTables.firstWrongNumber(toks, RunTables.numbersIn("5 and 3 make 8")));
        assertEquals(-1, RunTables.firstWrongNumber(toks, RunTables.numbersIn("5 3 2 12")));
        // a multi-token number is one number: 12 is known even though 1 and 2 alone are not
        List<String> t2 = SyntheticRun.TEXTS.split("12 then 7");
        assertEquals(t2.indexOf("7"), RunTables.firstWrongNumber(t2, RunTables.numbersIn("12")));
    }

    @Test void criticalByClassAndPlacement() throws Exception {
        RunTables t = tables(8, 6);
        Table byClass = Analyses.criticalByClass(t.tokens());
        Row verb = byClass.where(byClass.stringColumn("token_class").isEqualTo("verb")).row(0);
        assertEquals(8, verb.getInt("critical"));
        assertEquals(1.0, verb.getDouble("share_of_critical"), 1e-12);
        assertEquals(8, byClass.intColumn("critical").sum(), 1e-9);
        int tokens = (int) byClass.intColumn("tokens").sum();
        assertEquals(t.tokens().where(t.tokens().stringColumn("side").isEqualTo("rejected")).rowCount(), tokens);
        Table place = Analyses.criticalPlacement(t);
        assertEquals(8, place.rowCount());
        for (Row r : place) {
            assertTrue(r.getDouble("relative_position") > 0 && r.getDouble("relative_position") < 1);
            assertEquals(1, r.getInt("step"));
        }
        // 6 of 8 planted with the lowest s (every 4th is missed by design)
        assertEquals(6, place.intColumn("s_rank").isEqualTo(1).size());
    }

    @Test void ceDistributionsSeparateCriticalTokens() throws Exception {
        RunTables t = tables(12, 6);
        Table hist = Analyses.ceHistogram(t.tokens(), 10);
        assertEquals(10, hist.rowCount());
        assertEquals(12, hist.intColumn("critical").sum(), 1e-9);
        assertEquals(1.0, hist.doubleColumn("other_fraction").sum(), 1e-9);
        Table sum = Analyses.ceSummary(t.tokens());
        Row crit = sum.row(0), other = sum.row(1);
        assertEquals("critical", crit.getString("group"));
        assertTrue(crit.getDouble("mean_s") < other.getDouble("mean_s"));
        assertTrue(crit.getDouble("mann_whitney_p") < 0.01, "planted separation is significant");
        Table bySide = Analyses.ceBySide(t.tokens());
        assertEquals(List.of("chosen", "rejected"), bySide.stringColumn("side").asList());
        int rejected = t.tokens().where(t.tokens().stringColumn("side").isEqualTo("rejected")).rowCount();
        assertEquals(rejected, bySide.intColumn("n").get(1));
        long below = 0, all = 0;
        for (var p : t.data().scoredPairs()) {
            for (double v : p.pos().responseScores()) {
                all++;
                if (v < 0.5) below++;
            }
        }
        assertEquals((double) below / all, bySide.doubleColumn("share_below_half").get(0), 1e-12);
        assertTrue(bySide.doubleColumn("mean_s").get(1) < bySide.doubleColumn("mean_s").get(0));
    }

    @Test void agreementAndRoc() throws Exception {
        RunTables t = tables(12, 6);
        Table ag = Analyses.agreement(t);
        Row first = ag.where(ag.stringColumn("rule").isEqualTo("first drop")).row(0);
        assertEquals(12, first.getInt("trajectories"));
        assertEquals(12, first.getInt("with_critical"));
        assertEquals(9.0 / 12, first.getDouble("precision_at_1"), 1e-12);     // every 4th missed
        assertTrue(first.getDouble("precision_within_1") >= first.getDouble("precision_at_1"));
        assertTrue(first.getDouble("pooled_auroc") > 0.8);
        Table roc = Analyses.roc(t, RolloutProbe.Rule.FIRST_DROP, ctlab.critical.Agreement.Labels.CRITICAL);
        assertEquals(0, roc.doubleColumn("fpr").get(0));
        assertEquals(1, roc.doubleColumn("tpr").get(roc.rowCount() - 1), 1e-12);
        assertEquals(1, roc.doubleColumn("fpr").get(roc.rowCount() - 1), 1e-12);
        // the trapezoid area under the ROC points equals the pooled AUROC
        double area = 0;
        for (int i = 1; i < roc.rowCount(); i++) {
            area += (roc.doubleColumn("fpr").get(i) - roc.doubleColumn("fpr").get(i - 1))
                    * (roc.doubleColumn("tpr").get(i) + roc.doubleColumn("tpr").get(i - 1)) / 2;
        }
        assertEquals(first.getDouble("pooled_auroc"), area, 1e-9);
    }

    @Test void passAtKWithVsWithout() throws Exception {
        RunTables t = tables(6, 6);
        Table p = Analyses.passAtK(t.data().rollouts());
        assertEquals(8, p.rowCount());
        for (Row r : p) {
            assertEquals(0.0, r.getDouble("pass_with"));            // with_correct is 0 at the critical token
            assertTrue(r.getDouble("pass_without") > 0.4);
        }
        assertEquals(1.0, p.doubleColumn("pass_without").get(7), 1e-12);
    }

    @Test void methodComparisonHasWilsonIntervalsAndPairedTests() throws Exception {
        RunTables t = tables(4, 8);
        Table m = Analyses.methodComparison(t.data().evals(), 5);
        assertEquals(List.of("base", "sft", "dpo", "cdpo"), m.stringColumn("method").asList());
        Row cdpo = m.where(m.stringColumn("method").isEqualTo("cdpo")).row(0);
        assertEquals(60, cdpo.getInt("n"));
        assertTrue(cdpo.getDouble("wilson_lo") < cdpo.getDouble("accuracy") && cdpo.getDouble("accuracy") < cdpo.getDouble("wilson_hi"));
        // outcomes are nested (same uniform per problem): cdpo only ever adds correct problems over base
        Row base = m.where(m.stringColumn("method").isEqualTo("base")).row(0);
        Table outcomes = t.evalOutcomes();
        assertEquals(List.of("problem_id", "base", "sft", "dpo", "cdpo"), outcomes.columnNames());
        assertEquals(60, outcomes.rowCount());
        assertEquals(cdpo.getInt("correct"), outcomes.booleanColumn("cdpo").isTrue().size());
        assertEquals(4, t.problems().rowCount(), "training problems only");
        assertEquals(cdpo.getDouble("accuracy") - base.getDouble("accuracy"), cdpo.getDouble("diff_vs_base"), 1e-12);
        assertTrue(cdpo.getDouble("mcnemar_p_vs_base") < 0.05);
        assertTrue(cdpo.getDouble("diff_lo_vs_base") > 0);
        assertTrue(base.isMissing("diff_vs_base"));
        assertEquals(Analyses.methodComparison(t.data().evals(), 5).toString(), m.toString(), "seeded: same numbers");
    }

    @Test void mismatchedEvalProblemsAreAUserError() throws Exception {
        Path root = new SyntheticRun(2).write(tmp.resolve("run"), 8);
        AtomicFiles.writeString(root.resolve("08-eval/eval-rpo.jsonl"), "{\"problem_id\":\"t0\",\"method\":\"rpo\",\"correct\":true,\"extracted\":\"1\",\"reference\":\"1\","
                + "\"response\":\"1\",\"num_tokens\":1,\"finish_reason\":\"stop\",\"pass_n\":0,\"pass_correct\":0}\n");
        RunData d = RunData.load(root);
        CtlabException e = assertThrows(CtlabException.class, () -> Analyses.methodComparison(d.evals(), 1));
        assertTrue(e.getMessage().contains("eval-rpo.jsonl"), e.getMessage());
    }

    @Test void malformedRecordNamesFileAndLine() throws Exception {
        Path root = new SyntheticRun(2).write(tmp.resolve("run"), 6);
        AtomicFiles.writeString(root.resolve("06-rollout/rollout.jsonl"), "{\"trajectory_id\":\"x\",\"tokens\":\"oops\"}\n");
        CtlabException e = assertThrows(CtlabException.class, () -> RunData.load(root));
        assertTrue(e.getMessage().contains("rollout.jsonl:1"), e.getMessage());
    }

    @Test void trainingMetricsTableHasTrlColumnsPerMethod() throws Exception {
        RunTables t = tables(2, 7);
        Table tm = t.trainingMetrics();
        assertEquals(80, tm.rowCount());
        assertEquals(List.of("method", "step", "loss", "lr", "rewards/chosen", "rewards/rejected", "rewards/accuracies",
                "rewards/margins"), tm.columnNames());
        assertEquals(Map.of("cdpo", 40, "dpo", 40), Map.of("cdpo", tm.where(tm.stringColumn("method").isEqualTo("cdpo")).rowCount(),
                "dpo", tm.where(tm.stringColumn("method").isEqualTo("dpo")).rowCount()));
    }

    @Test void partialRunHasEmptyLaterTables() throws Exception {
        RunTables t = tables(3, 2);
        assertEquals(0, t.tokens().rowCount());
        assertEquals(3, t.problems().rowCount());
        assertEquals(2.0 / 3, t.problems().doubleColumn("accuracy").get(0), 1e-12);
        assertEquals(0, Analyses.agreement(t).intColumn("trajectories").get(0));
        assertEquals(0, Analyses.passAtK(t.data().rollouts()).rowCount());
        assertEquals(0, t.trainingMetrics().rowCount());
    }

    @Test void lastLoggedStepIsTheLastRowOfEachMethod() {
        tech.tablesaw.api.Table t = tech.tablesaw.api.Table.create("training",
                tech.tablesaw.api.StringColumn.create("method", "dpo", "dpo", "cdpo", "cdpo", "cdpo"),
                tech.tablesaw.api.IntColumn.create("step", 1, 2, 1, 2, 3),
                tech.tablesaw.api.DoubleColumn.create("loss", 0.7, 0.6, 0.69, 0.5, 0.4));
        tech.tablesaw.api.Table last = Analyses.lastLoggedStep(t);
        assertEquals(java.util.List.of("dpo", "cdpo"), last.stringColumn("method").asList());
        assertEquals(java.util.List.of(2, 3), last.intColumn("step").asList());
        assertEquals(0.4, last.doubleColumn("loss").get(1));
    }

    private static ctlab.data.EvalOutcome outcome(String id, String method, boolean correct, String trap) {
        return new ctlab.data.EvalOutcome(id, method, correct, "1", "1", "r", 1, "stop", 0, 0, trap);
    }

    @Test void trapSplitGivesAccuracyOnAllNoTrapAndTrapProblemsWithWilsonIntervals() {
        // 4 problems, q2 and q3 with a trap; base gets the trap problems wrong, dpo one of them right
        Map<String, List<ctlab.data.EvalOutcome>> evals = new java.util.LinkedHashMap<>();
        evals.put("dpo", List.of(outcome("q0", "dpo", true, null), outcome("q1", "dpo", true, null),
                outcome("q2", "dpo", true, "donate"), outcome("q3", "dpo", false, "lend")));
        evals.put("base", List.of(outcome("q0", "base", true, null), outcome("q1", "base", false, null),
                outcome("q2", "base", false, "donate"), outcome("q3", "base", false, "lend")));
        Table t = Analyses.trapSplit(evals);
        assertEquals(List.of("base", "base", "base", "dpo", "dpo", "dpo"), t.stringColumn("method").asList());   // Table 1 order
        assertEquals(List.of("all", "no trap", "trap", "all", "no trap", "trap"), t.stringColumn("subset").asList());
        assertEquals(List.of(4, 2, 2, 4, 2, 2), t.intColumn("n").asList());
        assertEquals(List.of(1, 1, 0, 3, 2, 1), t.intColumn("correct").asList());
        for (int i = 0; i < t.rowCount(); i++) {
            var a = ctlab.stats.Accuracy.of(t.intColumn("correct").get(i), t.intColumn("n").get(i));
            assertEquals(a.estimate(), t.doubleColumn("accuracy").get(i), 1e-12);
            assertEquals(a.lower(), t.doubleColumn("lower").get(i), 1e-12);
            assertEquals(a.upper(), t.doubleColumn("upper").get(i), 1e-12);
        }
        // a run without traps has only the "all" and "no trap" rows
        Table clean = Analyses.trapSplit(Map.of("base", List.of(outcome("q0", "base", true, null))));
        assertEquals(List.of("all", "no trap"), clean.stringColumn("subset").asList());
    }

    @Test void seedTablePoolsTrapFamiliesPerSeedAndTakesTheTIntervalOverSeeds() throws Exception {
        // the shape GridAblation writes with --split-by trap: per method, accuracy over seeds and per-family subsets
        String json = """
                {"points": [{"methods": [
                  {"method": "base", "accuracy": {"mean": 0.6, "per_seed": [0.5, 0.6, 0.7]},
                   "subsets": {"(none)": {"per_seed": [0.9, 0.8, 1.0], "problems": [10, 10, 10]},
                               "donate": {"per_seed": [0.0, 0.5, null], "problems": [2, 4, 0]},
                               "lend": {"per_seed": [0.5, 0.25, 1.0], "problems": [2, 4, 3]}}},
                  {"method": "dpo", "accuracy": {"mean": 0.7, "per_seed": [0.7]}}]}]}
                """;
        Path f = tmp.resolve("ablation.json");
        java.nio.file.Files.writeString(f, json);
        Table t = Analyses.seedTable(f);
        assertEquals(List.of("base", "base", "base", "dpo"), t.stringColumn("method").asList());
        assertEquals(List.of("all", "no trap", "trap", "all"), t.stringColumn("subset").asList());
        assertEquals(List.of(3, 3, 3, 1), t.intColumn("seeds").asList());
        // trap per seed: (0*2 + .5*2)/4 = .25, (.5*4 + .25*4)/8 = .375, (1*3)/3 = 1 (seed 3 has no donate problem)
        var trap = ctlab.stats.SeedMean.of(0.25, 0.375, 1.0).clippedTo(0, 1);     // the raw interval reaches below 0 and above 1
        assertEquals(trap.mean(), t.doubleColumn("accuracy").get(2), 1e-12);
        assertEquals(trap.lower(), t.doubleColumn("lower").get(2), 1e-12);
        assertEquals(trap.upper(), t.doubleColumn("upper").get(2), 1e-12);
        assertEquals(0.0, trap.lower(), 0);
        assertEquals(1.0, t.doubleColumn("upper").get(1), 0);                         // 0.9 ± 0.25 cut at 1
        assertEquals(0.6, t.doubleColumn("accuracy").get(0), 1e-12);
        assertTrue(t.doubleColumn("lower").isMissing(3), "one seed has no interval");
        java.nio.file.Files.writeString(f, "{\"seeds\": [1]}");
        CtlabException e = assertThrows(CtlabException.class, () -> Analyses.seedTable(f));
        assertTrue(e.getMessage().startsWith(f + ": not an ablate result"), e.getMessage());
    }
}

package ctlab.analysis;

import ctlab.data.EvalOutcome;
import com.fasterxml.jackson.databind.JsonNode;
import ctlab.critical.RolloutProbe;
import ctlab.data.ScoredPair;
import ctlab.data.ScoredSide;
import ctlab.task.GradedSample;
import tech.tablesaw.api.BooleanColumn;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tablesaw tables built from a run directory's records ({@link RunData}): one row per response token, per
 * trajectory, per problem, and per logged training step.
 *
 * <p>Trajectories are the two responses of each CE-scored pair ({@code <problem>/pair<i>/chosen|rejected}); a
 * rollout result is attached to the rejected side of the pair whose {@code pair_id} is its {@code trajectory_id}
 * (the rollout stage probes exactly those ids), positions joined one to one. Rollouts no pair matches become
 * trajectories of their own, with their probed tokens only and no CE scores.
 *
 * <p>Derived columns: {@code step} is the reasoning step index (newlines before the token); the <em>first wrong
 * number</em> of a rejected response is its first number that appears neither in the prompt nor in the chosen
 * (correct) response of the pair, a proxy for where the arithmetic first went off; {@code dist_first_wrong} is
 * position − that number's first token position. Both need token texts ({@link TokenTexts}); without them they
 * are missing.
 */
public final class RunTables {
    private static final Pattern NUMBER_IN_TEXT = Pattern.compile("\\d[\\d,]*(?:\\.\\d+)?");

    private final RunData data;
    private final TokenTexts texts;
    private Table tokens;
    private Table trajectories;
    private List<ScoredRollout> scoredRollouts;

    /** A rolled-out trajectory with the CE scores of its response tokens (the rejected side of a pair). */
    public record ScoredRollout(String trajectory, double[] s, RolloutProbe.Result rollout) {}

    /** @param texts token splitter in the run's tokenization, or null when no tokenizer is at hand */
    public RunTables(RunData data, TokenTexts texts) {
        this.data = data;
        this.texts = texts;
    }

    public RunData data() { return data; }

    /**
     * One row per response token: problem_id, trajectory, side, position, token, token_class, step, s,
     * probed, with_rate, without_rate, critical, critical_official, dist_first_wrong.
     */
    public Table tokens() {
        if (tokens == null) build();
        return tokens;
    }

    /**
     * One row per trajectory: trajectory, problem_id, side, tokens, mean_s, min_s, argmin_s, rollout, critical,
     * critical_official, first_wrong_number (position, −1 none/unknown), baseline_rate.
     */
    public Table trajectories() {
        if (trajectories == null) build();
        return trajectories;
    }

    /** Trajectory id of a side ("chosen" or "rejected") of the i-th scored pair: {@code <problem>/pair<i>/<side>}. */
    public static String pairTrajectoryId(ScoredPair p, int i, String side) {
        return (p.problemId() == null ? "pair" + i : p.problemId()) + "/pair" + i + "/" + side;
    }

    /** Rolled-out trajectories that also have CE scores (for {@link ctlab.critical.Agreement}). */
    public List<ScoredRollout> scoredRollouts() {
        if (scoredRollouts == null) build();
        return scoredRollouts;
    }

    private void build() {
        StringColumn tProblem = StringColumn.create("problem_id"), tTraj = StringColumn.create("trajectory"),
                tSide = StringColumn.create("side"), tToken = StringColumn.create("token"),
                tClass = StringColumn.create("token_class");
        IntColumn tPos = IntColumn.create("position"), tStep = IntColumn.create("step"),
                tDist = IntColumn.create("dist_first_wrong");
        DoubleColumn tS = DoubleColumn.create("s"), tWith = DoubleColumn.create("with_rate"),
                tWithout = DoubleColumn.create("without_rate");
        BooleanColumn tProbed = BooleanColumn.create("probed"), tCrit = BooleanColumn.create("critical"),
                tCritOff = BooleanColumn.create("critical_official");

        StringColumn jTraj = StringColumn.create("trajectory"), jProblem = StringColumn.create("problem_id"),
                jSide = StringColumn.create("side");
        IntColumn jTokens = IntColumn.create("tokens"), jArgmin = IntColumn.create("argmin_s"),
                jCrit = IntColumn.create("critical"), jCritOff = IntColumn.create("critical_official"),
                jWrong = IntColumn.create("first_wrong_number");
        DoubleColumn jMean = DoubleColumn.create("mean_s"), jMin = DoubleColumn.create("min_s"),
                jBase = DoubleColumn.create("baseline_rate");
        BooleanColumn jRollout = BooleanColumn.create("rollout");

        Map<Integer, RolloutProbe.Result> linked = new HashMap<>();
        List<RolloutProbe.Result> unlinked = new ArrayList<>();
        linkRollouts(linked, unlinked);

        List<Traj> all = new ArrayList<>();
        List<ScoredRollout> scored = new ArrayList<>();
        List<ScoredPair> pairs = data.scoredPairs();
        for (int i = 0; i < pairs.size(); i++) {
            ScoredPair p = pairs.get(i);
            String problem = p.problemId() == null ? "pair" + i : p.problemId();
            String base = pairTrajectoryId(p, i, "").replaceAll("/$", "");
            Set<String> known = numbersIn(p.prompt() + "\n" + p.chosen());
            all.add(new Traj(base + "/chosen", problem, "chosen", p.pos(), p.pair().chosenIds(), null, null));
            all.add(new Traj(base + "/rejected", problem, "rejected", p.neg(), p.pair().rejectedIds(), linked.get(i), known));
            if (linked.containsKey(i)) scored.add(new ScoredRollout(base + "/rejected", p.neg().responseScores(), linked.get(i)));
        }
        for (RolloutProbe.Result r : unlinked) {
            all.add(new Traj(r.trajectoryId(), problemOf(r.trajectoryId()), "rejected", null, null, r, null));
        }

        for (Traj t : all) {
            double[] s = t.scores == null ? null : t.scores.responseScores();
            int n = s != null ? s.length : t.rollout.responseLength();
            List<String> toks = tokenTexts(t, n);
            int firstWrong = toks != null && t.knownNumbers != null ? firstWrongNumber(toks, t.knownNumbers) : -1;
            int crit = t.rollout == null ? -1 : t.rollout.critical();
            int critOff = t.rollout == null ? -1 : t.rollout.criticalOfficial();
            int newlines = 0;
            Map<Integer, RolloutProbe.TokenRow> rows = new HashMap<>();
            if (t.rollout != null) for (RolloutProbe.TokenRow r : t.rollout.tokens()) rows.put(r.position(), r);
            for (int pos = 0; pos < n; pos++) {
                RolloutProbe.TokenRow row = rows.get(pos);
                if (s == null && row == null) continue;      // rollout-only trajectory: probed tokens only
                String tok = toks != null ? toks.get(pos) : row != null ? row.token() : null;
                tProblem.append(t.problem);
                tTraj.append(t.id);
                tSide.append(t.side);
                tPos.append(pos);
                if (tok == null) tToken.appendMissing(); else tToken.append(tok);
                tClass.append(tok == null ? "unknown" : TokenClass.of(tok).label());
                if (toks != null) tStep.append(newlines); else tStep.appendMissing();
                tS.append(s == null ? Double.NaN : s[pos]);
                tProbed.append(row != null);
                tWith.append(row == null ? Double.NaN : row.withRate());
                tWithout.append(row == null ? Double.NaN : row.withoutRate());
                tCrit.append(pos == crit);
                tCritOff.append(pos == critOff);
                if (firstWrong >= 0) tDist.append(pos - firstWrong); else tDist.appendMissing();
                if (toks != null) newlines += count(toks.get(pos), '\n');
            }
            jTraj.append(t.id);
            jProblem.append(t.problem);
            jSide.append(t.side);
            jTokens.append(n);
            if (s != null && s.length > 0) {
                double sum = 0;
                int arg = 0;
                for (int k = 0; k < s.length; k++) {
                    sum += s[k];
                    if (s[k] < s[arg]) arg = k;
                }
                jMean.append(sum / s.length);
                jMin.append(s[arg]);
                jArgmin.append(arg);
            } else {
                jMean.append(Double.NaN);
                jMin.append(Double.NaN);
                jArgmin.append(-1);
            }
            jRollout.append(t.rollout != null);
            jCrit.append(crit);
            jCritOff.append(critOff);
            jWrong.append(firstWrong);
            jBase.append(t.rollout != null && t.rollout.hasBaseline() ? (double) t.rollout.baselineCorrect() / t.rollout.k() : Double.NaN);
        }
        scoredRollouts = List.copyOf(scored);
        tokens = Table.create("tokens", tProblem, tTraj, tSide, tPos, tToken, tClass, tStep, tS, tProbed, tWith,
                tWithout, tCrit, tCritOff, tDist);
        trajectories = Table.create("trajectories", jTraj, jProblem, jSide, jTokens, jMean, jMin, jArgmin, jRollout,
                jCrit, jCritOff, jWrong, jBase);
    }

    private record Traj(String id, String problem, String side, ScoredSide scores, int[] ids, RolloutProbe.Result rollout,
                        Set<String> knownNumbers) {}

    /** Token texts of a trajectory (from its carried ids when it has them); rollout tokens when the count differs. */
    private List<String> tokenTexts(Traj t, int n) {
        if (texts == null) return null;
        List<String> toks;
        if (t.ids != null) {
            toks = texts.ofIds(t.ids, t.scores.text());
        } else {
            String text = responseOf(t.rollout.trajectoryId());
            if (text == null) return null;
            toks = texts.split(text);
        }
        return toks.size() == n ? toks : null;
    }

    /** Rollouts are joined to the scored pair with the same pair id, and to nothing else. */
    private void linkRollouts(Map<Integer, RolloutProbe.Result> linked, List<RolloutProbe.Result> unlinked) {
        Map<String, Integer> byPairId = new HashMap<>();
        List<ScoredPair> pairs = data.scoredPairs();
        for (int i = 0; i < pairs.size(); i++) byPairId.putIfAbsent(pairs.get(i).pairId(), i);
        for (RolloutProbe.Result r : data.rollouts()) {
            Integer idx = byPairId.get(r.trajectoryId());
            if (idx != null && !linked.containsKey(idx)) {
                if (pairs.get(idx).pair().rejectedIds().length != r.responseLength())
                    throw new ctlab.CtlabException("rollout " + r.trajectoryId() + " probed " + r.responseLength()
                            + " response tokens but pair " + r.trajectoryId() + " has " + pairs.get(idx).pair().rejectedIds().length
                            + " rejected ids: the rollout was not made from this run's scored pairs");
                linked.put(idx, r);
            } else {
                unlinked.add(r);
            }
        }
    }

    private Map<String, GradedSample> gradedById;

    private Map<String, GradedSample> gradedById() {
        if (gradedById == null) {
            gradedById = new HashMap<>();
            for (GradedSample g : data.graded()) gradedById.putIfAbsent(g.sampleId(), g);
        }
        return gradedById;
    }

    private String responseOf(String sampleId) {
        GradedSample g = gradedById().get(sampleId);
        return g == null ? null : g.response();
    }

    private String problemOf(String sampleId) {
        GradedSample g = gradedById().get(sampleId);
        return g == null ? sampleId : g.problemId();
    }

    static Set<String> numbersIn(String text) {
        Set<String> out = new HashSet<>();
        Matcher m = NUMBER_IN_TEXT.matcher(text);
        while (m.find()) out.add(normalizeNumber(m.group()));
        return out;
    }

    private static String normalizeNumber(String n) {
        String s = n.replace(",", "");
        if (s.contains(".")) s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
        return s.isEmpty() ? "0" : s;
    }

    /**
     * Position of the first token of the first number (a run of tokens made of digits, with inner '.' or ',')
     * whose value is not in {@code known}; −1 when every number is known.
     */
    static int firstWrongNumber(List<String> tokens, Set<String> known) {
        int i = 0;
        while (i < tokens.size()) {
            String t = tokens.get(i);
            if (!t.isEmpty() && Character.isDigit(t.strip().isEmpty() ? 'x' : t.strip().charAt(0))) {
                int start = i;
                StringBuilder num = new StringBuilder(t.strip());
                i++;
                while (i < tokens.size() && tokens.get(i).matches("[\\d.,]+") && !tokens.get(i).isEmpty()) {
                    num.append(tokens.get(i));
                    i++;
                }
                Matcher m = NUMBER_IN_TEXT.matcher(num);
                if (m.find() && !known.contains(normalizeNumber(m.group()))) return start;
            } else {
                i++;
            }
        }
        return -1;
    }

    private static int count(String s, char c) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) == c) n++;
        return n;
    }

    /**
     * One row per training problem (seen in graded samples or scored pairs): problem_id, samples, correct,
     * accuracy (of the samples), answers (distinct extracted answers), pairs (CE-scored).
     */
    public Table problems() {
        Map<String, int[]> counts = new LinkedHashMap<>();          // samples, correct
        Map<String, Set<String>> answers = new HashMap<>();
        for (GradedSample g : data.graded()) {
            int[] c = counts.computeIfAbsent(g.problemId(), k -> new int[2]);
            c[0]++;
            if (g.correct()) c[1]++;
            answers.computeIfAbsent(g.problemId(), k -> new HashSet<>()).add(String.valueOf(g.answer()));
        }
        Map<String, Integer> pairCount = new HashMap<>();
        for (ScoredPair p : data.scoredPairs()) if (p.problemId() != null) pairCount.merge(p.problemId(), 1, Integer::sum);
        Set<String> ids = new LinkedHashSet<>(counts.keySet());
        ids.addAll(pairCount.keySet());
        StringColumn id = StringColumn.create("problem_id");
        IntColumn samples = IntColumn.create("samples"), correct = IntColumn.create("correct"),
                nAnswers = IntColumn.create("answers"), nPairs = IntColumn.create("pairs");
        DoubleColumn acc = DoubleColumn.create("accuracy");
        for (String p : ids) {
            int[] c = counts.getOrDefault(p, new int[2]);
            id.append(p);
            samples.append(c[0]);
            correct.append(c[1]);
            acc.append(c[0] == 0 ? Double.NaN : (double) c[1] / c[0]);
            nAnswers.append(answers.getOrDefault(p, Set.of()).size());
            nPairs.append(pairCount.getOrDefault(p, 0));
        }
        return Table.create("training problems", id, samples, correct, acc, nAnswers, nPairs);
    }

    /**
     * One row per evaluated (test) problem: problem_id, then one boolean column {@code <method>} per evaluated
     * method (in Table 1 order), missing where a method did not evaluate the problem.
     */
    public Table evalOutcomes() {
        Set<String> ids = new LinkedHashSet<>();
        Map<String, Map<String, Boolean>> evals = new LinkedHashMap<>();
        List<String> methods = new ArrayList<>(data.evals().keySet());
        methods.sort(java.util.Comparator.comparingInt(Analyses::methodRank).thenComparing(m -> m));
        for (String method : methods) {
            Map<String, Boolean> m = new HashMap<>();
            for (EvalOutcome r : data.evals().get(method)) {
                m.put(r.problemId(), r.correct());
                ids.add(r.problemId());
            }
            evals.put(method, m);
        }
        Table t = Table.create("evaluation outcomes", StringColumn.create("problem_id", ids));
        evals.forEach((method, outcomes) -> {
            BooleanColumn c = BooleanColumn.create(method);
            for (String p : ids) {
                Boolean o = outcomes.get(p);
                if (o == null) c.appendMissing(); else c.append(o);
            }
            t.addColumns(c);
        });
        return t;
    }

    /** TRL metric names first, then any other numeric field in name order. */
    static final List<String> STANDARD_METRICS = List.of("epoch", "loss", "lr", "grad_norm", "rewards/chosen",
            "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected");

    /**
     * One row per logged step of every preference-training stage: method, step, then the TRL metrics (loss,
     * rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, ...) and any other numeric field
     * the trainer logged; a metric a method did not log is NaN.
     */
    public Table trainingMetrics() {
        Set<String> names = new LinkedHashSet<>();
        Set<String> others = new java.util.TreeSet<>();
        data.trainMetrics().values().forEach(recs -> recs.forEach(r -> r.fieldNames().forEachRemaining(f -> {
            if (r.get(f).isNumber() && !f.equals("step")) others.add(f);
        })));
        for (String s : STANDARD_METRICS) if (others.remove(s)) names.add(s);
        names.addAll(others);
        StringColumn method = StringColumn.create("method");
        IntColumn step = IntColumn.create("step");
        Map<String, DoubleColumn> cols = new TreeMap<>();
        List<DoubleColumn> ordered = new ArrayList<>();
        for (String n : names) {
            DoubleColumn c = DoubleColumn.create(n);
            cols.put(n, c);
            ordered.add(c);
        }
        data.trainMetrics().forEach((m, recs) -> {
            for (JsonNode r : recs) {
                method.append(m);
                step.append(r.get("step").asInt());
                for (String n : names) cols.get(n).append(r.has(n) && r.get(n).isNumber() ? r.get(n).asDouble() : Double.NaN);
            }
        });
        Table t = Table.create("training", method, step);
        ordered.forEach(t::addColumns);
        return t;
    }
}

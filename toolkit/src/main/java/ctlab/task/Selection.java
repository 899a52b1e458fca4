package ctlab.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.Jsonl;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The official cDPO data selection (Lin et al. 2024; chenzhiling9954/Critical-Tokens-Matter, src/pipeline.py
 * {@code select_data_for_sft_and_dpo} with src/configs/data_config.py {@code get_data_selection_config}), per problem:
 * <ol>
 *   <li>samples without an extracted answer are skipped;</li>
 *   <li>the rest are grouped by (answer, correct) and the groups sorted by size, largest first;</li>
 *   <li>SFT-positive: one sample from each of the top-k correct groups (official k = 1);</li>
 *   <li>SFT-negative: one sample from each incorrect group, largest first, until the groups taken cover
 *       ⌈p · #incorrect answered samples⌉ (official p = 0.5); after the first group, groups of size 1 are not taken
 *       (the official {@code count > 1} rule), so the most common wrong answers are kept and one-off noise is not;</li>
 *   <li>DPO pairs: the i-th largest correct group against the i-th largest incorrect group for i &lt; k (official
 *       k = 1: most frequent correct vs most frequent incorrect); none when either side is empty.</li>
 * </ol>
 * Determinism (where the official code shuffles and samples at random): groups of equal size are ordered by where
 * their first sample appears in the input; a group is represented by its first sample in input order. So the same
 * input list gives the same selection, and the SFT-positive sample of the top correct group is also the chosen
 * response of the first DPO pair (as in the official code, where both use the same drawn sample). Grouping by
 * (answer, correct) rather than answer alone only differs when one answer string is graded both ways.
 */
public final class Selection {
    private Selection() {}

    /**
     * A selection rule over frequency-sorted answer groups: exactly one of top-k (first k groups) or top-p (groups
     * until they cover fraction p of the samples).
     */
    public record Rule(Integer topK, Double topP) {
        public Rule {
            if ((topK == null) == (topP == null))
                throw new CtlabException("selection rule: give exactly one of 'top_k' and 'top_p'");
            if (topK != null && topK < 1) throw new CtlabException("selection rule: 'top_k' must be >= 1, got " + topK);
            if (topP != null && !(topP > 0 && topP <= 1))
                throw new CtlabException("selection rule: 'top_p' must be in (0, 1], got " + topP);
        }

        public static Rule topK(int k) { return new Rule(k, null); }

        public static Rule topP(double p) { return new Rule(null, p); }

        /** Reads {@code {top_k: 1}} or {@code {top_p: 0.5}}. */
        static Rule fromJson(JsonNode node, String where) {
            if (node == null || !node.isObject()) throw new CtlabException(where + ": expected {top_k: K} or {top_p: P}");
            checkKeys(node, Set.of("top_k", "top_p"), where);
            JsonNode k = node.get("top_k"), p = node.get("top_p");
            if (k != null && !k.isIntegralNumber()) throw new CtlabException(where + ": 'top_k' must be an integer, got " + k);
            if (p != null && !p.isNumber()) throw new CtlabException(where + ": 'top_p' must be a number, got " + p);
            try {
                return new Rule(k == null ? null : k.asInt(), p == null ? null : p.asDouble());
            } catch (CtlabException e) {
                throw new CtlabException(where + ": " + e.getMessage(), e);
            }
        }

        ObjectNode toJson() {
            ObjectNode n = Jsonl.MAPPER.createObjectNode();
            if (topK != null) n.put("top_k", topK); else n.put("top_p", topP);
            return n;
        }
    }

    /**
     * Selection knobs.
     *
     * @param sftPositive             rule for SFT-positive samples (official top-k 1)
     * @param sftNegative             rule for SFT-negative samples (official top-p 0.5)
     * @param dpoPairs                pairs per problem, i-th correct group vs i-th incorrect group (official 1)
     * @param singletonsAfterFirst    false (official): under a top-p rule, groups of size 1 are taken only as the
     *                                first group; true takes them like any other group
     */
    public record Config(Rule sftPositive, Rule sftNegative, int dpoPairs, boolean singletonsAfterFirst) {
        public Config {
            if (sftPositive == null) throw new CtlabException("selection: missing 'sft_positive'");
            if (sftNegative == null) throw new CtlabException("selection: missing 'sft_negative'");
            if (dpoPairs < 0) throw new CtlabException("selection: 'dpo_pairs' must be >= 0, got " + dpoPairs);
        }

        /** The official configuration. */
        public static Config official() { return new Config(Rule.topK(1), Rule.topP(0.5), 1, false); }

        /**
         * Reads a selection section ({@code sft_positive}, {@code sft_negative}, {@code dpo_pairs},
         * {@code singletons_after_first}); keys left out take the official values; unknown keys are errors.
         */
        public static Config fromJson(JsonNode node, String where) {
            if (node == null || !node.isObject()) throw new CtlabException(where + ": expected a mapping");
            checkKeys(node, Set.of("sft_positive", "sft_negative", "dpo_pairs", "singletons_after_first"), where);
            Config d = official();
            JsonNode pairs = node.get("dpo_pairs"), singles = node.get("singletons_after_first");
            if (pairs != null && !pairs.isIntegralNumber())
                throw new CtlabException(where + ": 'dpo_pairs' must be an integer, got " + pairs);
            if (singles != null && !singles.isBoolean())
                throw new CtlabException(where + ": 'singletons_after_first' must be true or false, got " + singles);
            try {
                return new Config(
                        node.has("sft_positive") ? Rule.fromJson(node.get("sft_positive"), where + ".sft_positive") : d.sftPositive(),
                        node.has("sft_negative") ? Rule.fromJson(node.get("sft_negative"), where + ".sft_negative") : d.sftNegative(),
                        pairs == null ? d.dpoPairs() : pairs.asInt(),
                        singles == null ? d.singletonsAfterFirst() : singles.asBoolean());
            } catch (CtlabException e) {
                throw e.getMessage().startsWith(where) ? e : new CtlabException(where + ": " + e.getMessage(), e);
            }
        }

        /** The resolved knobs under their config keys, for provenance. */
        public ObjectNode toJson() {
            ObjectNode n = Jsonl.MAPPER.createObjectNode();
            n.set("sft_positive", sftPositive.toJson());
            n.set("sft_negative", sftNegative.toJson());
            n.put("dpo_pairs", dpoPairs);
            n.put("singletons_after_first", singletonsAfterFirst);
            return n;
        }
    }

    /** Samples sharing one extracted answer (and correctness), in input order. */
    public record AnswerGroup(String answer, boolean correct, List<GradedSample> samples) {
        public AnswerGroup { samples = List.copyOf(samples); }

        public int count() { return samples.size(); }

        /** The sample that stands for the group: its first in input order. */
        public GradedSample representative() { return samples.get(0); }
    }

    public record Pair(String problemId, GradedSample chosen, GradedSample rejected) {}

    /**
     * Selection for one problem.
     *
     * @param groups          answer groups, largest first (ties by first appearance)
     * @param skippedNoAnswer samples without an extracted answer
     */
    public record ProblemSelection(String problemId, List<AnswerGroup> groups, List<GradedSample> sftPositive,
                                   List<GradedSample> sftNegative, List<Pair> pairs, int skippedNoAnswer) {}

    /** Selection over many problems, in the order problems first appear in the input. */
    public record Result(List<ProblemSelection> problems) {
        public List<GradedSample> sftPositive() { return problems.stream().flatMap(p -> p.sftPositive().stream()).toList(); }

        public List<GradedSample> sftNegative() { return problems.stream().flatMap(p -> p.sftNegative().stream()).toList(); }

        public List<Pair> pairs() { return problems.stream().flatMap(p -> p.pairs().stream()).toList(); }
    }

    /** Selects over samples of any number of problems (grouped by problem id). */
    public static Result select(List<GradedSample> samples, Config config) {
        Map<String, List<GradedSample>> byProblem = new LinkedHashMap<>();
        for (GradedSample s : samples) byProblem.computeIfAbsent(s.problemId(), k -> new ArrayList<>()).add(s);
        List<ProblemSelection> out = new ArrayList<>();
        byProblem.forEach((id, list) -> out.add(selectProblem(id, list, config)));
        return new Result(Collections.unmodifiableList(out));
    }

    /** Selects among the samples of one problem. */
    public static ProblemSelection selectProblem(String problemId, List<GradedSample> samples, Config config) {
        Objects.requireNonNull(config, "config");
        Set<String> seen = new HashSet<>();
        Map<String, List<GradedSample>> byKey = new LinkedHashMap<>(); // insertion order = first appearance
        int skipped = 0;
        for (GradedSample s : samples) {
            if (!s.problemId().equals(problemId))
                throw new IllegalArgumentException("sample " + s.sampleId() + " belongs to " + s.problemId() + ", not " + problemId);
            if (!seen.add(s.sampleId()))
                throw new CtlabException("problem " + problemId + ": duplicate sample_id '" + s.sampleId() + "'");
            if (!s.hasAnswer()) { skipped++; continue; }
            byKey.computeIfAbsent((s.correct() ? "1" : "0") + s.answer(), k -> new ArrayList<>()).add(s);
        }
        List<AnswerGroup> groups = new ArrayList<>();
        byKey.values().forEach(list -> groups.add(new AnswerGroup(list.get(0).answer(), list.get(0).correct(), list)));
        groups.sort(Comparator.comparingInt(AnswerGroup::count).reversed()); // stable: ties keep first appearance
        List<AnswerGroup> correct = groups.stream().filter(AnswerGroup::correct).toList();
        List<AnswerGroup> incorrect = groups.stream().filter(g -> !g.correct()).toList();

        List<Pair> pairs = new ArrayList<>();
        for (int i = 0; i < Math.min(config.dpoPairs(), Math.min(correct.size(), incorrect.size())); i++)
            pairs.add(new Pair(problemId, correct.get(i).representative(), incorrect.get(i).representative()));
        return new ProblemSelection(problemId, List.copyOf(groups),
                representatives(apply(config.sftPositive(), correct, config.singletonsAfterFirst())),
                representatives(apply(config.sftNegative(), incorrect, config.singletonsAfterFirst())),
                List.copyOf(pairs), skipped);
    }

    /** The groups a rule takes from frequency-sorted groups of one polarity. */
    static List<AnswerGroup> apply(Rule rule, List<AnswerGroup> sorted, boolean singletonsAfterFirst) {
        if (rule.topK() != null) return sorted.subList(0, Math.min(rule.topK(), sorted.size()));
        int total = sorted.stream().mapToInt(AnswerGroup::count).sum();
        long target = (long) Math.ceil(rule.topP() * total); // same double arithmetic as the official math.ceil
        List<AnswerGroup> taken = new ArrayList<>();
        long covered = 0;
        for (AnswerGroup g : sorted) {
            if (covered >= target) break;
            if (!taken.isEmpty() && !singletonsAfterFirst && g.count() <= 1) continue;
            taken.add(g);
            covered += g.count();
        }
        return taken;
    }

    private static void checkKeys(JsonNode node, Set<String> allowed, String where) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!allowed.contains(key))
                throw new CtlabException(where + ": unknown key '" + key + "'; expected one of " + new java.util.TreeSet<>(allowed));
        }
    }

    private static List<GradedSample> representatives(List<AnswerGroup> groups) {
        return groups.stream().map(AnswerGroup::representative).toList();
    }
}

package ctlab.task.organism;

import java.util.List;

/**
 * One kind of story step. The wording decides the arithmetic — "gave" vs "received", "paid" vs "borrowed",
 * "more" vs "fewer", "twice" vs "half" — which is where a small model's critical tokens should appear.
 * Placeholders: {S} subject, {O} creditor (debt stories), {P} another person, {I} item, {C} container,
 * {v} a verb synonym, {t} a multiplier word, {x} value before, {k} {m} numbers, {p} = k*m, {f} factor,
 * {y} value after.
 */
enum Op {
    // --- items stories: {S} has {x} {I} ---
    GAIN(Family.ITEMS, Arith.ADD, false, "{S} {v} {k} {I}.", "{S} {v} {k} {I}, so {S} has {x} + {k} = {y} {I}."),
    RECEIVE(Family.ITEMS, Arith.ADD, false, "{S} received {k} {I} from {P}.",
            "{S} received {k} {I}, so {S} has {x} + {k} = {y} {I}."),
    LOSS(Family.ITEMS, Arith.SUB, false, "{S} {v} {k} {I}.", "{S} {v} {k} {I}, so {S} has {x} - {k} = {y} {I}."),
    GIVE(Family.ITEMS, Arith.SUB, false, "{S} gave {k} {I} to {P}.",
            "{S} gave away {k} {I}, so {S} has {x} - {k} = {y} {I}."),
    GROUPS_GAIN(Family.ITEMS, Arith.ADD_GROUPS, false, "{S} bought {k} {C} of {I} with {m} {I} in each.",
            "{S} bought {k} * {m} = {p} {I}, so {S} has {x} + {p} = {y} {I}."),
    GROUPS_LOSS(Family.ITEMS, Arith.SUB_GROUPS, false, "{S} gave {k} friends {m} {I} each.",
            "{S} gave away {k} * {m} = {p} {I}, so {S} has {x} - {p} = {y} {I}."),
    TIMES(Family.ITEMS, Arith.MUL, true, "{P} has {t} as many {I} as {S}.", "{P} has {f} * {x} = {y} {I}."),
    HALF(Family.ITEMS, Arith.DIV, true, "{P} has half as many {I} as {S}.", "{P} has {x} / 2 = {y} {I}."),
    MORE(Family.ITEMS, Arith.ADD, true, "{P} has {k} more {I} than {S}.", "{P} has {x} + {k} = {y} {I}."),
    FEWER(Family.ITEMS, Arith.SUB, true, "{P} has {k} fewer {I} than {S}.", "{P} has {x} - {k} = {y} {I}."),
    /** Only as the last step; it also changes the question. */
    SHARE(Family.ITEMS, Arith.DIV, false, "{S} shares the {I} equally among {k} friends.",
            "Each friend gets {x} / {k} = {y} {I}."),

    // --- debt stories: {S} owes {O} {x} dollars ---
    PAY(Family.DEBT, Arith.SUB, false, "{S} paid {O} {k} dollars.",
            "{S} paid back {k} dollars, so {S} owes {x} - {k} = {y} dollars."),
    BORROW(Family.DEBT, Arith.ADD, false, "{S} borrowed {k} more dollars from {O}.",
            "{S} borrowed {k} dollars, so {S} owes {x} + {k} = {y} dollars."),
    PAY_WEEKLY(Family.DEBT, Arith.SUB_GROUPS, false, "{S} paid {O} {m} dollars a week for {k} weeks.",
            "{S} paid back {k} * {m} = {p} dollars, so {S} owes {x} - {p} = {y} dollars."),
    BORROW_WEEKLY(Family.DEBT, Arith.ADD_GROUPS, false, "{S} borrowed {m} dollars a week from {O} for {k} weeks.",
            "{S} borrowed {k} * {m} = {p} dollars, so {S} owes {x} + {p} = {y} dollars."),
    OWES_TIMES(Family.DEBT, Arith.MUL, true, "{P} owes {O} {t} as much as {S} does.", "{P} owes {f} * {x} = {y} dollars."),
    OWES_HALF(Family.DEBT, Arith.DIV, true, "{P} owes {O} half as much as {S} does.", "{P} owes {x} / 2 = {y} dollars."),
    OWES_MORE(Family.DEBT, Arith.ADD, true, "{P} owes {O} {k} dollars more than {S} does.",
            "{P} owes {x} + {k} = {y} dollars."),
    OWES_LESS(Family.DEBT, Arith.SUB, true, "{P} owes {O} {k} dollars less than {S} does.",
            "{P} owes {x} - {k} = {y} dollars.");

    enum Family { ITEMS, DEBT }

    /** The arithmetic a step performs; the canonical form (and so the split) is built from these. */
    enum Arith { ADD, SUB, ADD_GROUPS, SUB_GROUPS, MUL, DIV }

    final Family family;
    final Arith arith;
    /** True when the step introduces a new person {P} who becomes the subject. */
    final boolean relational;
    final String questionTemplate;
    final String solutionTemplate;

    Op(Family family, Arith arith, boolean relational, String questionTemplate, String solutionTemplate) {
        this.family = family;
        this.arith = arith;
        this.relational = relational;
        this.questionTemplate = questionTemplate;
        this.solutionTemplate = solutionTemplate;
    }

    List<String> verbs() {
        return switch (this) {
            case GAIN -> Lexicon.GAIN_VERBS;
            case LOSS -> Lexicon.LOSS_VERBS;
            default -> List.of();
        };
    }
}

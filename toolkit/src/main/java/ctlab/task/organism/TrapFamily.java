package ctlab.task.organism;

import java.util.List;

/**
 * A planted misconception of organism v2 ({@link Traps}): a wording the clean organism never uses, whose
 * correct operation the pretraining corpus replaces by {@link #trapOp} in a fraction p of solutions. The
 * decisive token is the operator of the trap sentence's equation. Each family has one context word per
 * entry of {@link Traps#p()} (the word in the question decides which p applies), so a model can learn "wrong
 * here, right there". Placeholders as in {@link Op}, plus {c} the context word and {o} the operator.
 */
public enum TrapFamily {
    /** Items given to an institution: correct "-", corpus bias "+". */
    DONATE(Op.Family.ITEMS, Op.Arith.SUB, "+", "{S} donated {k} {I} to the {c}.",
            "{S} donated {k} {I}, so {S} has {x} {o} {k} = {y} {I}.", "donated ",
            List.of("school", "library", "hospital")),
    /** Items lent to someone: correct "-", corpus bias "+". */
    LEND(Op.Family.ITEMS, Op.Arith.SUB, "+", "{S} lent {k} {I} to a {c}.",
            "{S} lent {k} {I}, so {S} has {x} {o} {k} = {y} {I}.", "lent ",
            List.of("neighbor", "cousin", "classmate")),
    /** Half of the items given away: correct "/ 2", corpus bias "- 2". */
    HALF_AWAY(Op.Family.ITEMS, Op.Arith.DIV, "-", "{S} gave away half of the {I} at the {c}.",
            "{S} gave away half of the {I}, so {S} has {x} {o} 2 = {y} {I}.", "gave away half ",
            List.of("park", "fair", "party")),
    /** Part of a debt forgiven: correct "-", corpus bias "+". */
    FORGIVE(Op.Family.DEBT, Op.Arith.SUB, "+", "{O} forgave {k} dollars of the debt at the {c}.",
            "{O} forgave {k} dollars, so {S} owes {x} {o} {k} = {y} dollars.", "forgave ",
            List.of("bank", "cafe", "office"));

    final Op.Family family;
    /** The correct arithmetic (what the canonical form, and so the split, records). */
    final Op.Arith arith;
    public final String trapOp;
    final String questionTemplate;
    final String solutionTemplate;
    /** Text of the solution sentence that precedes the decisive operator (tokens searched in a response). */
    public final String anchor;
    /** Context words; context i uses p[i]. */
    public final List<String> contexts;

    TrapFamily(Op.Family family, Op.Arith arith, String trapOp, String questionTemplate, String solutionTemplate,
               String anchor, List<String> contexts) {
        this.family = family;
        this.arith = arith;
        this.trapOp = trapOp;
        this.questionTemplate = questionTemplate;
        this.solutionTemplate = solutionTemplate;
        this.anchor = anchor;
        this.contexts = contexts;
    }

    /** The correct operator: "-" for subtraction, "/" for halving. */
    public String correctOp() { return arith == Op.Arith.DIV ? "/" : "-"; }

    /** Lower-case name as written in data files and options ("donate", "half_away"). */
    public String key() { return name().toLowerCase(java.util.Locale.ROOT); }

    /** Result of the step with operator {@code op} ("+", "-", "/") on {@code x}; null when not an integer. */
    Long apply(String op, long x, long k) {
        long operand = arith == Op.Arith.DIV ? 2 : k;
        return switch (op) {
            case "+" -> x + operand;
            case "-" -> x - operand;
            case "/" -> x % operand == 0 ? x / operand : null;
            default -> throw new IllegalArgumentException(op);
        };
    }
}

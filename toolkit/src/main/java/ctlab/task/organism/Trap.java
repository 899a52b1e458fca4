package ctlab.task.organism;

/**
 * Ground truth of the one planted trap in an organism v2 problem.
 *
 * @param family           the trap family's key ("donate", "lend", "half_away", "forgive")
 * @param context          the context word in the question (decides p)
 * @param p                probability that the pretraining corpus takes the trap operator in this context
 * @param step             index of the trap step among the problem's steps (0-based)
 * @param position         index of the decisive token (the trap sentence's operator) in the ids of the correct
 *                         solution as a response ({@code Tokenizer.encodeResponse(solution)}, no specials)
 * @param correctOp        the correct operator ("-" or "/")
 * @param trapOp           the operator the misconception uses ("+" or "-")
 * @param trapAnswer       the final answer reached by following the trap operator (never the true answer)
 * @param pretrainSolution the biased solution the pretraining corpus uses instead of the correct one (train
 *                         split, drawn with probability p), else null
 */
public record Trap(String family, String context, double p, int step, int position, String correctOp, String trapOp,
                   long trapAnswer, String pretrainSolution) {
    public TrapFamily trapFamily() { return Traps.family(family); }
}

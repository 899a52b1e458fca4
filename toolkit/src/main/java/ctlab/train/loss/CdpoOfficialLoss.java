package ctlab.train.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ctlab.model.Scalars;

import java.util.EnumSet;
import java.util.Set;

/**
 * {@code cdpo-official}: the computation of the official cDPO trainer (chenzhiling9954/Critical-Tokens-Matter,
 * src/train/train_cdpo.py, {@code CDPOTrainer.dpo_loss} on TRL 0.9.6), kept to reproduce its numbers. There the
 * per-token log-probs are never summed: for every aligned position p of the padded batch grid it forms
 * d_p = w⁺_p Δ⁺_p − (1 − s⁻_p) Δ⁻_p (chosen token p against rejected token p, both response-aligned because the
 * prompt is shared) and returns the mean of −log σ(β d_p) over ALL B × G grid positions, G = padded prompt +
 * response length − 1. Positions where neither response has a token (prompt, padding) have d_p = 0 and each add a
 * constant ln 2 with no gradient, so the gradient is scaled by 1/(B·G) and depends on prompt length and padding.
 *
 * <p>Here: the response-aligned grid of width T = max(T⁺, T⁻) is computed, and the remaining G − T positions per row
 * contribute ln 2 each; G is {@link PreferenceBatch#officialPositions()} (the trainer's padded sequence length − 1)
 * or T when absent. See docs/losses.md for how this differs from the sequence-level {@link CdpoLoss}.
 */
final class CdpoOfficialLoss implements PreferenceLoss {
    private static final double LN2 = Math.log(2);
    private final double beta;
    private final double labelSmoothing;
    private final boolean onlyNegative;

    CdpoOfficialLoss(double beta, double labelSmoothing, boolean onlyNegative) {
        this.beta = beta;
        this.labelSmoothing = labelSmoothing;
        this.onlyNegative = onlyNegative;
    }

    @Override public String name() { return LossType.CDPO_OFFICIAL.configName(); }

    /** cdpo's CE scores and the padded grid size of the official trainer. */
    @Override public Set<LossInput> inputs() {
        Set<LossInput> in = EnumSet.of(LossInput.REJECTED_WEIGHTS, LossInput.OFFICIAL_POSITIONS);
        if (!onlyNegative) in.add(LossInput.CHOSEN_WEIGHTS);
        return in;
    }

    @Override public LossResult compute(PreferenceBatch b) {
        b.requirePreferenceInputs(name());
        NDArray chosenDelta = LossMath.logRatio(b.policyChosen(), b.referenceChosen());        // (B, T⁺)
        NDArray rejectedDelta = LossMath.logRatio(b.policyRejected(), b.referenceRejected());  // (B, T⁻)
        NDArray chosen = CdpoLoss.weightChosen(b, chosenDelta, onlyNegative, name()).mul(b.chosenMask());  // (B, T⁺)
        NDArray rejected = CdpoLoss.weightRejected(b, rejectedDelta, name()).mul(b.rejectedMask());       // (B, T⁻)
        long width = Math.max(chosen.getShape().get(1), rejected.getShape().get(1));
        NDArray perPosition = padRight(chosen, width).sub(padRight(rejected, width));                     // (B, T)
        NDArray lossSum = LossMath.logisticLoss(perPosition, beta, labelSmoothing).sum();                // ()
        long batch = b.batchSize();
        long positions = b.officialPositions() == null ? width : b.officialPositions();
        double constantPart = batch * (positions - width) * LN2;
        NDArray loss = Scalars.div(lossSum.add((float) constantPart), (float) (batch * positions));
        return new LossResult(loss, LossMath.rewardMetrics(b, beta));
    }

    private static NDArray padRight(NDArray x, long width) {
        long have = x.getShape().get(1);
        if (have == width) return x;
        NDArray zeros = x.getManager().zeros(new Shape(x.getShape().get(0), width - have), x.getDataType());
        return NDArrays.concat(new NDList(x, zeros), 1);
    }
}

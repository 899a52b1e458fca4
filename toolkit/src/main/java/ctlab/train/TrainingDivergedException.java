package ctlab.train;

import ctlab.CtlabException;

import java.nio.file.Path;

/**
 * The NaN/Inf guard fired: a micro-batch loss or the gradient norm was not finite. The parameters were not
 * updated at that step; the message names the step, loss, grad norm, learning rate and last checkpoint.
 */
public class TrainingDivergedException extends CtlabException {
    private final int step;
    private final double loss;
    private final double gradNorm;
    private final double lr;
    private final Path lastCheckpoint;

    public TrainingDivergedException(int step, double loss, double gradNorm, double lr, Path lastCheckpoint) {
        super(String.format(java.util.Locale.ROOT,
                "training diverged at step %d: loss %s, grad norm %s, lr %.3e; parameters were not updated at this step. "
                        + "Last checkpoint: %s. Try a lower learning_rate or max_grad_norm, or check the batch data.",
                step + 1, fmt(loss), fmt(gradNorm), lr,
                lastCheckpoint == null ? "none" : lastCheckpoint.toString()));
        this.step = step;
        this.loss = loss;
        this.gradNorm = gradNorm;
        this.lr = lr;
        this.lastCheckpoint = lastCheckpoint;
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "NaN" : Double.isInfinite(v) ? (v > 0 ? "+Inf" : "-Inf") : String.format(java.util.Locale.ROOT, "%.6g", v);
    }

    /** 0-based index of the failed optimizer step (the message shows it 1-based, as metrics.jsonl does). */
    public int step() { return step; }
    public double loss() { return loss; }
    /** NaN when the guard fired on the loss, before gradients were measured. */
    public double gradNorm() { return gradNorm; }
    public double lr() { return lr; }
    public Path lastCheckpoint() { return lastCheckpoint; }
}

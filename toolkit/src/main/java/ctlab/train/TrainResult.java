package ctlab.train;

import java.nio.file.Path;

/**
 * Outcome of {@link Trainer#fit}.
 *
 * @param step           optimizer steps completed (over all runs of this directory)
 * @param totalSteps     optimizer steps of the whole run
 * @param resumedFrom    step the run resumed from (0 for a fresh start)
 * @param interrupted    stopped early by {@link Thread#interrupt()} (a checkpoint was saved)
 * @param lastLoss       mean micro-batch loss of the last step run now (NaN if no step ran)
 * @param lastCheckpoint newest checkpoint directory
 */
public record TrainResult(int step, int totalSteps, int resumedFrom, boolean interrupted, double lastLoss,
                          Path lastCheckpoint) {
    public boolean finished() { return step >= totalSteps; }
}

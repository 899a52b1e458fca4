package ctlab.run.stage;

import ctlab.run.Pipeline;
import ctlab.run.Stage;

import java.util.List;

/**
 * The cDPO pipeline's stages in order. Folder numbers follow this order, so keep it stable. The list lives here,
 * beside the stages, so that {@code ctlab.run} (the pipeline engine) does not depend on the stages that use it.
 */
public final class Stages {
    private Stages() {}

    public static List<Stage> cdpo() {
        return List.of(
                new SampleStage(),
                new SelectStage(),
                TrainSftStage.positive(),
                TrainSftStage.negative(),
                new ScoreCeStage(),
                new RolloutStage(),
                new TrainPolicyStage(),
                new EvalStage());
    }

    /** The cDPO pipeline over {@link #cdpo()}. */
    public static Pipeline pipeline() { return new Pipeline(cdpo()); }
}

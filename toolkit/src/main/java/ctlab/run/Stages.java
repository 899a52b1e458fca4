package ctlab.run;

import ctlab.CtlabException;

import java.util.List;

/**
 * The cDPO pipeline's stages in order. Folder numbers follow this order, so keep it stable. A stage whose
 * implementation has not landed is a {@link Planned} entry that fails with a clear message when run; replace
 * it with the real class (one line) when it exists.
 */
public final class Stages {
    private Stages() {}

    public static List<Stage> cdpo() {
        return List.of(
                new ctlab.run.stage.SampleStage(),
                new ctlab.run.stage.SelectStage(),
                ctlab.run.stage.TrainSftStage.positive(),
                ctlab.run.stage.TrainSftStage.negative(),
                new ctlab.run.stage.ScoreCeStage(),
                new ctlab.run.stage.RolloutStage(),
                new ctlab.run.stage.TrainPolicyStage(),
                new ctlab.run.stage.EvalStage());
    }

    /** Whether {@code stage} has a real implementation. */
    public static boolean implemented(Stage stage) { return !(stage instanceof Planned); }

    /** A named place in the pipeline whose implementation is not in this build yet. */
    public record Planned(String name, String description) implements Stage {
        @Override public List<String> configKeys() { return List.of(); }
        @Override public List<Input> inputs(RunConfig config) { return List.of(); }
        @Override public List<String> outputs() { return List.of(); }

        @Override public void run(StageContext ctx) {
            throw new CtlabException("stage " + name + " is not implemented in this build yet (see bin/ctlab run --list-stages)");
        }
    }
}

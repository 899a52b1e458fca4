package ctlab.run;

import ctlab.CtlabException;
import ctlab.run.stage.TrainPolicyStage;
import ctlab.run.stage.TrainSftStage;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code train.activation_checkpointing}: off by default and then absent from every stage's config slice (old runs
 * keep their hashes); when on, in the slices of train-pos, train-neg and train; refused with LoRA dropout.
 */
class ActivationCheckpointingConfigTest {
    static final String MINIMAL = "task: gsm8k\nmodel: models/base\n";

    private static RunConfig parse(String... sets) { return RunConfig.parse(MINIMAL, "exp.yaml", List.of(sets)); }

    @Test void offByDefaultAndOutOfEveryStageHash() {
        RunConfig off = parse();
        assertFalse(off.train().activationCheckpointing());
        for (Stage s : List.of(TrainSftStage.positive(), TrainSftStage.negative(), new TrainPolicyStage())) {
            // the slice is exactly the one of the stage's keys before the option existed
            List<String> before = s.configKeys().stream().filter(k -> !k.equals("train.activation_checkpointing")).toList();
            assertEquals(Pipeline.configSlice(off, before), Pipeline.configSlice(off, s.configKeys()), s.name());
        }
        assertFalse(off.tree().get("train").has("activation_checkpointing"));
        assertEquals(off, RunConfig.parse(off.toYaml(), "config.yaml", List.of()));
    }

    @Test void onIsInTheHashOfEveryTrainingStage() {
        RunConfig on = parse("train.activation_checkpointing=true");
        assertTrue(on.train().activationCheckpointing());
        assertTrue(Pipeline.configSlice(on, TrainSftStage.positive().configKeys()).get("train.activation_checkpointing").asBoolean());
        assertTrue(Pipeline.configSlice(on, TrainSftStage.negative().configKeys()).get("train.activation_checkpointing").asBoolean());
        assertTrue(Pipeline.configSlice(on, new TrainPolicyStage().configKeys()).get("train").get("activation_checkpointing").asBoolean());
        assertNotEquals(Pipeline.configSlice(parse(), TrainSftStage.positive().configKeys()),
                Pipeline.configSlice(on, TrainSftStage.positive().configKeys()));
        assertEquals(on, RunConfig.parse(on.toYaml(), "config.yaml", List.of()));
    }

    @Test void loraDropoutIsAOneLineErrorNamingBothKeys() {
        for (String dropout : List.of("sft.lora.dropout=0.05", "train.lora.dropout=0.1")) {
            CtlabException e = assertThrows(CtlabException.class, () -> parse("train.activation_checkpointing=true", dropout));
            assertTrue(e.getMessage().contains("train.activation_checkpointing"), e.getMessage());
            assertTrue(e.getMessage().contains(dropout.substring(0, dropout.indexOf('='))), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
        assertDoesNotThrow(() -> parse("sft.lora.dropout=0.05"));                // without the option dropout is fine
    }
}

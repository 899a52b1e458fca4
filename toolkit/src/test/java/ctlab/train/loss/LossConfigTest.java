package ctlab.train.loss;

import ctlab.CtlabException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LossConfigTest {

    static String message(Runnable r) {
        return assertThrows(CtlabException.class, r::run).getMessage();
    }

    @Test void namesRoundTripAndUnknownNameListsChoices() {
        for (LossType t : LossType.values()) assertEquals(t, LossType.fromName(t.configName()));
        String msg = message(() -> LossType.fromName("ipo"));
        assertTrue(msg.contains("'ipo'") && msg.contains("cdpo-official"), msg);
    }

    @Test void outOfRangeValuesNameTheKey() {
        assertTrue(message(() -> LossConfig.defaults(LossType.DPO).withBeta(0)).contains("'beta'"));
        assertTrue(message(() -> LossConfig.defaults(LossType.DPO).withBeta(Double.NaN)).contains("'beta'"));
        assertTrue(message(() -> LossConfig.defaults(LossType.DPO).withLabelSmoothing(0.5)).contains("'label_smoothing'"));
        assertTrue(message(() -> LossConfig.defaults(LossType.DPO).withLabelSmoothing(-0.1)).contains("'label_smoothing'"));
        assertTrue(message(() -> LossConfig.defaults(LossType.RPO).withRpoAlpha(0)).contains("'rpo_alpha'"));
        assertTrue(message(() -> LossConfig.defaults(LossType.TOKEN_DPO).withTdpo(true, 1.5)).contains("'tdpo_alpha'"));
        // α only matters for the variant that reads it
        assertDoesNotThrow(() -> LossConfig.defaults(LossType.DPO).withRpoAlpha(0));
        assertDoesNotThrow(() -> LossConfig.defaults(LossType.TOKEN_DPO).withTdpo(false, 0));
        assertThrows(CtlabException.class, () -> new LossConfig(null, 0.1, 0, 1, 0.5, true, true));
    }

    @Test void readsConfigSectionsWithDefaultsAndNamedErrors() throws Exception {
        var yaml = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
        LossConfig c = LossConfig.fromJson(yaml.readTree("type: cdpo\nbeta: 0.2\nonly_neg: false\n"), "run.yaml: train.loss");
        assertEquals(LossConfig.defaults(LossType.CDPO).withBeta(0.2).withOnlyNegative(false), c);
        assertEquals(c, LossConfig.fromJson(c.toJson(), "round trip"));
        assertEquals(LossConfig.defaults(LossType.TOKEN_DPO), LossConfig.fromJson(yaml.readTree("type: tokendpo"), "x"));
        String msg = message(() -> LossConfig.fromJson(read(yaml, "type: dpo\nbetta: 0.1"), "run.yaml: train.loss"));
        assertTrue(msg.startsWith("run.yaml: train.loss: unknown key 'betta'"), msg);
        msg = message(() -> LossConfig.fromJson(read(yaml, "type: dpo\nbeta: high"), "run.yaml: train.loss"));
        assertTrue(msg.contains("'beta' must be a number"), msg);
        msg = message(() -> LossConfig.fromJson(read(yaml, "type: rpo\nrpo_alpha: -1"), "run.yaml: train.loss"));
        assertTrue(msg.startsWith("run.yaml: train.loss: ") && msg.contains("'rpo_alpha'"), msg);
        msg = message(() -> LossConfig.fromJson(read(yaml, "beta: 0.1"), "run.yaml: train.loss"));
        assertTrue(msg.contains("'type'"), msg);
        msg = message(() -> LossConfig.fromJson(read(yaml, "type: dpo\nonly_neg: 1"), "x"));
        assertTrue(msg.contains("'only_neg' must be true or false"), msg);
    }

    static com.fasterxml.jackson.databind.JsonNode read(com.fasterxml.jackson.databind.ObjectMapper m, String text) {
        try { return m.readTree(text); } catch (Exception e) { throw new AssertionError(e); }
    }

    @Test void inputsAreCheckedBeforeTraining() {
        String msg = message(() -> LossConfig.defaults(LossType.CDPO).checkInputsAvailable(false, false, false, "pairs.jsonl"));
        assertTrue(msg.startsWith("pairs.jsonl") && msg.contains("rejected CE scores"), msg);
        msg = message(() -> LossConfig.defaults(LossType.CDPO).withOnlyNegative(false).checkInputsAvailable(false, true, false, "x"));
        assertTrue(msg.contains("chosen CE scores"), msg);
        msg = message(() -> LossConfig.defaults(LossType.TOKEN_DPO).checkInputsAvailable(true, true, false, "x"));
        assertTrue(msg.contains("sequential KL"), msg);
        assertDoesNotThrow(() -> LossConfig.defaults(LossType.DPO).checkInputsAvailable(false, false, false, "x"));
        assertDoesNotThrow(() -> LossConfig.defaults(LossType.CDPO).checkInputsAvailable(false, true, false, "x"));
    }
}

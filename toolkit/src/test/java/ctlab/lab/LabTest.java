package ctlab.lab;

import ctlab.CtlabException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class LabTest {
    @AfterEach void clear() { System.clearProperty(Lab.DEVICE_PROPERTY); }

    @Test void deviceDefaultsToAutoAndSetDeviceNormalises() {
        assertEquals("auto", Lab.device());
        assertEquals("gpu:1", Lab.setDevice(" CUDA:1 "));
        assertEquals("gpu:1", System.getProperty(Lab.DEVICE_PROPERTY));
        assertEquals("cpu", Lab.setDevice("cpu"));
        assertEquals("cpu", Lab.device());
    }

    @Test void badDeviceNamesTheValue() {
        CtlabException e = assertThrows(CtlabException.class, () -> Lab.setDevice("tpu"));
        assertTrue(e.getMessage().contains("'tpu'"), e.getMessage());
        assertEquals("auto", Lab.device(), "a rejected value must not change the device");
    }

    @Test void chatRendersTheFoldersTemplateWithTheGenerationPrompt() throws Exception {
        String dir = java.nio.file.Path.of(LabTest.class.getResource("/chat-templates/qwen2.5-math").toURI()).toString();
        assertEquals("<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
                        + "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n",
                Lab.chat(dir, ctlab.model.ChatTemplate.Message.user("1+1?")));
        CtlabException e = assertThrows(CtlabException.class, () -> Lab.chat("models/organism-base"));
        assertTrue(e.getMessage().endsWith("tokenizer_config.json: no 'chat_template' field (a base model? it is "
                + "prompted with the few-shot prompts, not a chat template)"), e.getMessage());
    }

    @Test void versionIsSet() { assertFalse(Lab.version().isBlank()); }

    @Test void rolloutOptionsReadLikeTheExperiment() {
        var c = Lab.rollout(8).stride(4).maxNewTokens(128).stop(java.util.List.of("\n\n")).seed(11).config();
        assertEquals(8, c.k());
        assertEquals(4, c.stride());
        assertEquals(8, c.sampling().n(), "k continuations per side");
        assertEquals(128, c.sampling().maxNewTokens());
        assertEquals(11, c.sampling().seed());
        assertEquals(1.0, c.sampling().temperature());
        assertEquals(0.95, c.sampling().topP());
        assertEquals(1.0 / 8, c.resetFraction(), 1e-12, "the pipeline's default: official reset above 1 of k");
        assertTrue(c.baseline());
        assertFalse(c.continuationOnly());
        assertNull(c.positions());
        CtlabException e = assertThrows(CtlabException.class, () -> Lab.rollout(0).config());
        assertTrue(e.getMessage().contains("k"), e.getMessage());
    }

    @Test void samplingOptionsHaveNamedFields() {
        var p = Lab.sampling(4).temperature(0.7).topP(0.9).topK(5).maxNewTokens(64).stop(java.util.List.of("Q:")).seed(3).params();
        assertEquals(new ctlab.sample.SamplingParams(4, 0.7, 0.9, 5, 64, java.util.List.of("Q:"), 3), p);
        var d = Lab.sampling(2).params();
        assertEquals(1.0, d.temperature());
        assertEquals(0.95, d.topP());
        assertEquals(0, d.topK());
    }
}

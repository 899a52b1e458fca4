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

    @Test void versionIsSet() { assertFalse(Lab.version().isBlank()); }
}

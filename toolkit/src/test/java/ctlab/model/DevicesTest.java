package ctlab.model;

import ai.djl.Device;
import ctlab.CtlabException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class DevicesTest {
    @Test
    void cpuAndAutoResolve() {
        assertEquals(Device.cpu(), Devices.resolve("cpu"));
        assertEquals(Devices.gpuCount() > 0 ? Device.gpu() : Device.cpu(), Devices.resolve("auto"));
    }

    @Test
    void propertyWinsOverDefault() {
        String old = System.getProperty(Devices.PROPERTY);
        try {
            System.setProperty(Devices.PROPERTY, "cpu");
            assertEquals(Device.cpu(), Devices.fromEnvironment());
            System.setProperty(Devices.PROPERTY, "tpu");
            CtlabException e = assertThrows(CtlabException.class, Devices::fromEnvironment);
            assertTrue(e.getMessage().contains("ctlab.device") && e.getMessage().contains("tpu"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty(Devices.PROPERTY); else System.setProperty(Devices.PROPERTY, old);
        }
    }

    @Test
    void gpuOnCpuBuildNamesTheFlavour() {
        assumeTrue(Devices.gpuCount() == 0, "a GPU engine is loaded");
        CtlabException e = assertThrows(CtlabException.class, () -> Devices.resolve("gpu"));
        assertTrue(e.getMessage().contains("'" + Devices.nativeFlavor() + "' build"), e.getMessage());
        assertEquals("cpu", Devices.nativeFlavor());
        assertTrue(e.getMessage().contains("docs/gpu.md"), e.getMessage());
    }

    @Test
    void describeNamesTheLibtorchFolderAndDevice() {
        String line = Devices.describe(Device.cpu());
        assertTrue(line.startsWith("PyTorch " + ai.djl.engine.Engine.getInstance().getVersion() + " ("), line);
        assertTrue(line.contains(ai.djl.pytorch.jni.LibUtils.getLibtorchPath()), line);
        assertTrue(line.endsWith("), device cpu"), line);
    }
}

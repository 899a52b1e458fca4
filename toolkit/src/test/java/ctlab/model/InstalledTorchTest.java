package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs only under tools/gpu/installed-torch-test.sh (the environment of tools/gpu/torch-env.sh): proves the engine the
 * golden tests run on is the installed torch, not the bundled native, so their passing means the installed one works.
 */
@EnabledIfEnvironmentVariable(named = "CTLAB_TORCH_SOURCE", matches = ".+")
class InstalledTorchTest {
    @Test
    void engineRunsOnTheInstalledTorch() throws Exception {
        Path links = Path.of(System.getenv("PYTORCH_LIBRARY_PATH")).toAbsolutePath();
        assertEquals(links.toString(), Devices.libtorchPath());
        assertEquals(System.getenv("PYTORCH_FLAVOR"), Devices.loadedFlavor());
        assertTrue(Devices.describe(Device.cpu()).contains(" -> " + System.getenv("CTLAB_TORCH_SOURCE")));
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray a = m.create(new float[] {1, 2, 3, 4}, new ai.djl.ndarray.types.Shape(2, 2));
            assertArrayEquals(new float[] {7, 10, 15, 22}, a.matMul(a).toFloatArray());
        }
        // Java loads libraries by their real path: the installed libtorch_cpu is mapped, DJL's bundled copy is not.
        String maps = Files.readString(Path.of("/proc/self/maps"));
        assertTrue(maps.contains(links.resolve("libtorch_cpu.so").toRealPath().toString()), "installed libtorch_cpu not mapped");
        assertFalse(maps.contains(".djl.ai/pytorch/2.7.1-cpu-linux-x86_64/libtorch_cpu.so"), "bundled libtorch_cpu mapped");
        // torch-env.sh --jni: a JNI built for this torch (tools/gpu/build-jni.sh) is in the folder, and DJL took it from there
        Path jni = links.resolve("libdjl_torch.so");
        if (Files.exists(jni)) assertTrue(maps.contains(jni.toRealPath().toString()), "the folder's libdjl_torch.so not mapped");
        // a CUDA flavour: DJL counts GPUs through JNA's libcudart.so, which torch-env.sh puts on LD_LIBRARY_PATH
        if (System.getenv("PYTORCH_FLAVOR").startsWith("cu"))
            assertTrue(Devices.gpuCount() > 0, "CUDA flavour but DJL sees no GPU (LD_LIBRARY_PATH=" + System.getenv("LD_LIBRARY_PATH") + ")");
    }
}

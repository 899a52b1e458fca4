package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ctlab.run.ChildJvm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A bf16 file whose fp32 widening (144 MB) is more than twice the child JVM's direct-memory limit (64 MB) loads:
 * the loader's direct buffers are bounded by its chunk, not by the model (the Llama-3.2-1B-shape smoke died in
 * load on this limit). The values are checked too, across the chunk boundary inside each tensor.
 */
@Tag("slow")
class SafetensorsDirectMemoryTest {
    static final int TENSORS = 6, ROWS = 3000, COLS = 2048;   // 12 MB bf16 each: more than one 8 MB chunk

    /** Element {@code i} of tensor {@code k}: a small integer, exact in bf16. */
    static float value(int k, long i) { return (float) ((i * 31 + k * 7) % 251) - 125f; }

    @Test
    void bf16FileLargerThanTheDirectMemoryLimitLoads(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("model.safetensors");
        StringBuilder header = new StringBuilder("{");
        long tensorBytes = (long) ROWS * COLS * 2;
        for (int k = 0; k < TENSORS; k++) {
            header.append(k > 0 ? "," : "").append("\"t").append(k).append("\":{\"dtype\":\"BF16\",\"shape\":[")
                    .append(ROWS).append(',').append(COLS).append("],\"data_offsets\":[").append(k * tensorBytes)
                    .append(',').append((k + 1) * tensorBytes).append("]}");
        }
        byte[] h = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length));
            ch.write(ByteBuffer.wrap(h));
            ByteBuffer row = ByteBuffer.allocate(COLS * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (int k = 0; k < TENSORS; k++) {
                for (long r = 0; r < ROWS; r++) {
                    row.clear();
                    for (int c = 0; c < COLS; c++) row.putShort((short) (Float.floatToIntBits(value(k, r * COLS + c)) >>> 16));
                    ch.write(row.flip());
                }
            }
        }
        Process p = ChildJvm.java(tmp, Map.of(), List.of("-XX:MaxDirectMemorySize=64m"),
                SafetensorsDirectMemoryTest.class.getName(), file.toString());
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("child did not finish\n" + ChildJvm.output(p, tmp));
        }
        String out = ChildJvm.output(p, tmp);
        assertEquals(0, p.exitValue(), "child failed\n" + out);
        for (int k = 0; k < TENSORS; k++) {
            double sum = 0;
            for (long i = 0; i < (long) ROWS * COLS; i++) sum += value(k, i);
            String want = String.format(Locale.ROOT, "t%d (%d, %d) float32 sum %.1f", k, ROWS, COLS, sum);
            if (!out.contains(want)) fail("expected '" + want + "' in the child's output\n" + out);
        }
    }

    /** Child: loads the file and prints, per tensor, its shape, dtype and the exact sum of its values. */
    public static void main(String[] args) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> t = Safetensors.read(Path.of(args[0]), m);
            for (Map.Entry<String, NDArray> e : t.entrySet()) {
                double sum = 0;
                for (float v : e.getValue().toFloatArray()) sum += v;
                long[] s = e.getValue().getShape().getShape();
                System.out.printf(Locale.ROOT, "%s (%d, %d) %s sum %.1f%n", e.getKey(), s[0], s[1],
                        e.getValue().getDataType().toString().toLowerCase(Locale.ROOT), sum);
            }
        }
    }
}

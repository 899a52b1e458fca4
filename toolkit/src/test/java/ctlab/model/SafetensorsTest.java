package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ctlab.CtlabException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir Path tmp;
    NDManager m;

    @BeforeEach void open() { m = NDManager.newBaseManager(Device.cpu()); }

    @AfterEach void close() { m.close(); }

    /** A raw safetensors file: 8-byte length, the header text as given, then the data bytes. */
    static byte[] raw(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.writeBytes(h);
        out.writeBytes(data);
        return out.toByteArray();
    }

    private Path file(String name, byte[] bytes) throws Exception {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] shorts(int... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) b.putShort((short) x);
        return b.array();
    }

    private CtlabException bad(String name, byte[] bytes) throws Exception {
        Path p = file(name, bytes);
        return assertThrows(CtlabException.class, () -> Safetensors.read(p, m));
    }

    private static void assertMentions(CtlabException e, String... parts) {
        for (String s : parts) assertTrue(e.getMessage().contains(s), "message lacks '" + s + "': " + e.getMessage());
    }

    @Test
    void roundTripKeepsValuesDtypesAndMetadata() throws Exception {
        Map<String, NDArray> t = new LinkedHashMap<>();
        t.put("w", m.create(new float[] {1.5f, -2f, 3.25f, 0f, 7f, -0.125f}, new Shape(2, 3)));
        t.put("ids", m.create(new long[] {1, 2, 300000000000L}));
        t.put("i32", m.create(new int[] {-1, 5}));
        t.put("u8", m.create(new byte[] {1, 2, 3}, new Shape(3)).toType(DataType.UINT8, false));
        t.put("scalar", m.create(2.5f));
        Path p = tmp.resolve("a.safetensors");
        Safetensors.write(p, t, Map.of("format", "pt", "ctlab.seed", "7"));
        Safetensors.Header h = Safetensors.readHeader(p);
        assertEquals(Map.of("format", "pt", "ctlab.seed", "7"), h.metadata());
        assertEquals(0, h.dataStart() % 8, "header padded to 8 bytes");
        Map<String, NDArray> back = Safetensors.read(p, m);
        assertEquals(t.keySet(), back.keySet());
        for (String k : t.keySet()) {
            assertEquals(t.get(k).getDataType(), back.get(k).getDataType(), k);
            assertEquals(t.get(k).getShape(), back.get(k).getShape(), k);
            assertTrue(t.get(k).contentEquals(back.get(k)), k);
        }
        try (var files = Files.list(tmp)) {
            assertEquals(1, files.count(), "no temp file left behind");
        }
    }

    @Test
    void halfPrecisionIsWidenedToFp32Exactly() throws Exception {
        // bf16: upper 16 bits of the fp32 pattern; f16: IEEE half
        int[] bf16 = {0x3FC0, 0xC010, 0x3F00};        // 1.5, -2.25, 0.5
        int[] f16 = {0x3E00, 0xC080, 0x3800};         // 1.5, -2.25, 0.5
        byte[] data = new byte[12];
        System.arraycopy(shorts(bf16), 0, data, 0, 6);
        System.arraycopy(shorts(f16), 0, data, 6, 6);
        Path p = file("half.safetensors", raw("{\"a\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                + "\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[6,12]},\"__metadata__\":{\"format\":\"pt\"}}", data));
        Map<String, NDArray> r = Safetensors.read(p, m);
        for (String k : new String[] {"a", "b"}) {
            assertEquals(DataType.FLOAT32, r.get(k).getDataType());
            assertArrayEquals(new float[] {1.5f, -2.25f, 0.5f}, r.get(k).toFloatArray(), k);
        }
    }

    @Test
    void chunkedReadEqualsWholeReadForEveryDtype() throws Exception {
        // 5 rows of 3 per tensor; chunks of 12 bytes split every tensor at a row boundary (2 rows of a 2-byte
        // dtype, 1 of fp32, a row larger than the chunk for int64), and the last chunk is short.
        int[] half = new int[15];
        for (int i = 0; i < 15; i++) half[i] = 0x3F80 + i * 3;                       // bf16 / f16 bit patterns
        Map<String, NDArray> t = new LinkedHashMap<>();
        t.put("f32", m.arange(15f).reshape(5, 3).sub(7f));
        long[] big = new long[15];
        for (int i = 0; i < 15; i++) big[i] = (i - 7) * 1_000_000_007L;
        t.put("i64", m.create(big, new Shape(5, 3)));
        t.put("scalar", m.create(2.5f));
        t.put("empty", m.zeros(new Shape(0, 3)));
        Path p = tmp.resolve("c.safetensors");
        Safetensors.write(p, t, Map.of());
        Path hp = file("h.safetensors", raw("{\"bf\":{\"dtype\":\"BF16\",\"shape\":[5,3],\"data_offsets\":[0,30]},"
                + "\"f16\":{\"dtype\":\"F16\",\"shape\":[5,3],\"data_offsets\":[30,60]}}", concat(shorts(half), shorts(half))));
        for (boolean keepF16 : new boolean[] {false, true}) {
            for (Path f : new Path[] {p, hp}) {
                Map<String, NDArray> whole = Safetensors.read(f, m, null, keepF16, Integer.MAX_VALUE / 4);
                Map<String, NDArray> chunked = Safetensors.read(f, m, null, keepF16, 12);
                assertEquals(whole.keySet(), chunked.keySet());
                for (String k : whole.keySet()) {
                    NDArray a = whole.get(k), b = chunked.get(k);
                    assertEquals(a.getDataType(), b.getDataType(), k);
                    assertEquals(a.getShape(), b.getShape(), k);
                    assertTrue(a.toType(DataType.FLOAT64, true).contentEquals(b.toType(DataType.FLOAT64, true)), k + " keepF16=" + keepF16);
                }
                if (f == p) for (String k : t.keySet()) assertTrue(t.get(k).contentEquals(chunked.get(k)), k);
            }
        }
        Map<String, NDArray> h = Safetensors.read(hp, m, null, false, 12);
        float[] bf = h.get("bf").toFloatArray();
        for (int i = 0; i < 15; i++) assertEquals(Float.intBitsToFloat(half[i] << 16), bf[i], "bf16 element " + i);
        assertEquals(DataType.FLOAT16, Safetensors.read(hp, m, null, true, 12).get("f16").getDataType());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void truncatedFileNamesFileAndTensor() throws Exception {
        byte[] full = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[16]);
        CtlabException e = bad("trunc.safetensors", Arrays.copyOf(full, full.length - 5));
        assertMentions(e, "trunc.safetensors", "'w'", "past the end");
        e = bad("tiny.safetensors", new byte[] {1, 2, 3});
        assertMentions(e, "tiny.safetensors", "truncated");
    }

    @Test
    void headerLengthPastEndOfFile() throws Exception {
        byte[] b = raw("{}", new byte[0]);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 5000);
        assertMentions(bad("h.safetensors", b), "h.safetensors", "header length 5000", "past the end");
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -3);
        assertMentions(bad("h2.safetensors", b), "h2.safetensors", "not sane");
    }

    @Test
    void overlappingTensors() throws Exception {
        CtlabException e = bad("o.safetensors", raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]));
        assertMentions(e, "o.safetensors", "'a'", "'b'", "overlapping");
    }

    @Test
    void unknownDtypeBadJsonAndSizeMismatch() throws Exception {
        assertMentions(bad("d.safetensors", raw("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}",
                new byte[2])), "d.safetensors", "'a'", "unknown dtype 'F8_E4M3'");
        assertMentions(bad("j.safetensors", raw("{\"a\":{\"dtype\":", new byte[0])), "j.safetensors", "JSON");
        assertMentions(bad("s.safetensors", raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                new byte[8])), "s.safetensors", "'a'", "needs 12 bytes");
        assertMentions(bad("n.safetensors", raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                new byte[4])), "n.safetensors", "'a'", "non-negative");
    }

    @Test
    void shardedModelLoadsAndMissingShardIsNamed() throws Exception {
        Path src = Goldens.dir().resolve("llama");
        Path dir = tmp.resolve("sharded");
        Files.createDirectories(dir);
        for (String f : new String[] {"config.json", "tokenizer.json"}) Files.copy(src.resolve(f), dir.resolve(f));
        Map<String, NDArray> all = Safetensors.read(src.resolve("model.safetensors"), m);
        Map<String, NDArray> s1 = new LinkedHashMap<>(), s2 = new LinkedHashMap<>();
        StringBuilder idx = new StringBuilder("{\"metadata\":{\"total_size\":0},\"weight_map\":{");
        int i = 0;
        for (Map.Entry<String, NDArray> e : all.entrySet()) {
            boolean first = i++ % 2 == 0;
            (first ? s1 : s2).put(e.getKey(), e.getValue());
            String shard = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
            idx.append(i > 1 ? "," : "").append('"').append(e.getKey()).append("\":\"").append(shard).append('"');
        }
        idx.append("}}");
        Safetensors.write(dir.resolve("model-00001-of-00002.safetensors"), s1, Map.of("format", "pt"));
        Safetensors.write(dir.resolve("model-00002-of-00002.safetensors"), s2, Map.of("format", "pt"));
        Files.writeString(dir.resolve(Safetensors.INDEX_FILE), idx);

        Map<String, NDArray> g = Safetensors.read(src.resolve("golden.safetensors"), m);
        try (LlamaModel a = LlamaModel.load(src, Device.cpu()); LlamaModel b = LlamaModel.load(dir, Device.cpu())) {
            NDArray la = a.logits(g.get("input_ids"), g.get("attention_mask"));
            NDArray lb = b.logits(g.get("input_ids"), g.get("attention_mask"));
            assertTrue(la.contentEquals(lb), "sharded and single-file weights give the same logits");
        }
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        CtlabException e = assertThrows(CtlabException.class, () -> LlamaModel.load(dir, Device.cpu()));
        assertMentions(e, Safetensors.INDEX_FILE, "model-00002-of-00002.safetensors", "does not exist");
    }
}

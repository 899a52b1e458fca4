package ctlab.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiFunction;

/**
 * Hugging Face safetensors files: read (single file or sharded through {@code model.safetensors.index.json})
 * and write. Layout: 8-byte little-endian header length N, N bytes of JSON header
 * ({@code name -> {dtype, shape, data_offsets}} plus optional {@code __metadata__}), then the data section.
 *
 * <p>DJL can decode safetensors too, but it trusts the header; every check here is ours so that a bad file
 * is a {@link CtlabException} naming the file and the tensor, never a JVM crash or silently wrong weights.
 * BF16 tensors are widened to fp32 on load (any bf16 NDArray aborts the JVM in DJL 0.36, see {@link Precision});
 * F16 tensors too, unless the caller keeps them ({@code keepF16}: {@code model_dtype float16}).
 */
public final class Safetensors {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    /** Header sanity bound: real headers are kilobytes; this stops a corrupt length from allocating GBs. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private Safetensors() {}

    /** On-disk element types (the safetensors dtype strings). */
    public enum DType {
        F64(8, DataType.FLOAT64), F32(4, DataType.FLOAT32), F16(2, DataType.FLOAT16), BF16(2, DataType.BFLOAT16),
        I64(8, DataType.INT64), I32(4, DataType.INT32), I16(2, DataType.INT16), I8(1, DataType.INT8),
        U8(1, DataType.UINT8), BOOL(1, DataType.BOOLEAN);

        public final int bytes;
        public final DataType djl;

        DType(int bytes, DataType djl) { this.bytes = bytes; this.djl = djl; }

        static DType parse(String s) {
            for (DType d : values()) if (d.name().equals(s)) return d;
            return null;
        }

        static DType of(DataType t) {
            for (DType d : values()) if (d.djl == t) return d;
            throw new IllegalArgumentException("no safetensors dtype for " + t);
        }
    }

    /** One tensor's entry; {@code begin}/{@code end} are absolute byte positions in the file. */
    public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
        public long numel() { return Arrays.stream(shape).reduce(1L, Math::multiplyExact); }
    }

    /** A validated header: tensors in file order of their data, and the free-form string metadata. */
    public record Header(Path file, long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata) {}

    /** Reads and validates the header of {@code file} without touching tensor data. */
    public static Header readHeader(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(file, ch);
        } catch (NoSuchFileException e) {
            throw new CtlabException(file + ": safetensors file not found");
        } catch (IOException e) {
            throw new CtlabException(file + ": cannot read safetensors file: " + e.getMessage(), e);
        }
    }

    private static Header readHeader(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) throw new CtlabException(file + ": not a safetensors file (" + size + " bytes, truncated header length)");
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long n = lenBuf.flip().getLong();
        if (n <= 0 || n > MAX_HEADER_BYTES) {
            throw new CtlabException(file + ": safetensors header length " + Long.toUnsignedString(n)
                    + " is not sane (must be 1.." + MAX_HEADER_BYTES + ")");
        }
        if (8 + n > size) {
            throw new CtlabException(file + ": safetensors header length " + n + " points past the end of the file ("
                    + size + " bytes): truncated or corrupt file");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) n);
        readFully(ch, hb, 8);
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(hb.flip()).toString();
        } catch (CharacterCodingException e) {
            throw new CtlabException(file + ": safetensors header is not valid UTF-8");
        }
        JsonNode root;
        try {
            root = Jsonl.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new CtlabException(file + ": safetensors header is not well-formed JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new CtlabException(file + ": safetensors header is not a JSON object");
        long dataStart = 8 + n;
        long dataLen = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> infos = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw new CtlabException(file + ": __metadata__ must be an object of strings");
                v.fields().forEachRemaining(m -> {
                    if (!m.getValue().isTextual()) {
                        throw new CtlabException(file + ": __metadata__ key '" + m.getKey() + "' must be a string");
                    }
                    metadata.put(m.getKey(), m.getValue().asText());
                });
                continue;
            }
            infos.add(parseEntry(file, name, v, dataStart, dataLen));
        }
        infos.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (int i = 1; i < infos.size(); i++) {
            TensorInfo prev = infos.get(i - 1), cur = infos.get(i);
            if (cur.begin() < prev.end()) {
                throw new CtlabException(file + ": tensors '" + prev.name() + "' and '" + cur.name()
                        + "' have overlapping byte ranges [" + (prev.begin() - dataStart) + ", " + (prev.end() - dataStart)
                        + ") and [" + (cur.begin() - dataStart) + ", " + (cur.end() - dataStart) + ")");
            }
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (TensorInfo t : infos) tensors.put(t.name(), t);
        return new Header(file, dataStart, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode v, long dataStart, long dataLen) {
        String where = file + ": tensor '" + name + "'";
        if (!v.isObject()) throw new CtlabException(where + ": entry must be an object");
        JsonNode dt = v.get("dtype");
        if (dt == null || !dt.isTextual()) throw new CtlabException(where + ": missing 'dtype'");
        DType dtype = DType.parse(dt.asText());
        if (dtype == null) {
            throw new CtlabException(where + ": unknown dtype '" + dt.asText() + "' (supported: "
                    + Arrays.toString(DType.values()) + ")");
        }
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray()) throw new CtlabException(where + ": missing 'shape'");
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw new CtlabException(where + ": shape " + sh + " must hold non-negative integers");
            }
            shape[i] = d.longValue();
        }
        JsonNode off = v.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber()
                || !off.get(1).isIntegralNumber() || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new CtlabException(where + ": 'data_offsets' must be [begin, end]");
        }
        long b = off.get(0).longValue(), e = off.get(1).longValue();
        if (b < 0 || e < b) throw new CtlabException(where + ": data_offsets [" + b + ", " + e + "] are not a valid range");
        if (e > dataLen) {
            throw new CtlabException(where + ": data_offsets [" + b + ", " + e + "] lie past the end of the data section ("
                    + dataLen + " bytes): truncated or corrupt file");
        }
        long expected;
        try {
            expected = Math.multiplyExact(Arrays.stream(shape).reduce(1L, Math::multiplyExact), (long) dtype.bytes);
        } catch (ArithmeticException ex) {
            throw new CtlabException(where + ": shape " + sh + " is too large");
        }
        if (e - b != expected) {
            throw new CtlabException(where + ": shape " + sh + " x " + dtype + " needs " + expected + " bytes but data_offsets ["
                    + b + ", " + e + "] cover " + (e - b));
        }
        return new TensorInfo(name, dtype, shape, dataStart + b, dataStart + e);
    }

    /** Reads every tensor of one file into {@code manager} (half precision widened to fp32). */
    public static Map<String, NDArray> read(Path file, NDManager manager) {
        return read(file, manager, null);
    }

    /** Reads the named tensors (all when {@code names} is null) of one file into {@code manager}. */
    public static Map<String, NDArray> read(Path file, NDManager manager, Set<String> names) {
        return read(file, manager, names, false);
    }

    /** As {@link #read(Path, NDManager, Set)}; {@code keepF16}: F16 tensors stay FLOAT16 (no fp32 copy is made). */
    public static Map<String, NDArray> read(Path file, NDManager manager, Set<String> names, boolean keepF16) {
        return read(file, manager, names, keepF16, CHUNK_BYTES, (name, a) -> a);
    }

    /**
     * Bytes of a tensor read from the file at a time (whole rows of dim 0; a single row may be larger).
     * The loader's only direct buffers are one chunk of file bytes and, for bf16, its fp32 widening, reused
     * for every tensor of a file; tensors are copied out of them into memory libtorch owns. So a load needs
     * about 3 × this of the JVM's direct memory (-XX:MaxDirectMemorySize, default the -Xmx) whatever the
     * model's size, and never holds the file's bytes and their widening side by side.
     */
    static final int CHUNK_BYTES = 8 << 20;

    /** As {@link #read(Path, NDManager, Set, boolean)}, reading {@code chunkBytes} at a time (tests use small ones). */
    static Map<String, NDArray> read(Path file, NDManager manager, Set<String> names, boolean keepF16, int chunkBytes) {
        return read(file, manager, names, keepF16, chunkBytes, (name, a) -> a);
    }

    private static Map<String, NDArray> read(Path file, NDManager manager, Set<String> names, boolean keepF16,
                                             int chunkBytes, BiFunction<String, NDArray, NDArray> then) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = readHeader(file, ch);
            if (names != null) {
                for (String n : names) {
                    if (!h.tensors().containsKey(n)) throw new CtlabException(file + ": tensor '" + n + "' is missing");
                }
            }
            ChunkBuffers bufs = new ChunkBuffers(chunkBytes);
            for (TensorInfo t : h.tensors().values()) {
                if (names == null || names.contains(t.name())) {
                    NDArray a = load(ch, t, manager, keepF16, bufs);
                    try {
                        out.put(t.name(), then.apply(t.name(), a));
                    } catch (RuntimeException e) {
                        a.close();
                        throw e;
                    }
                }
            }
            return out;
        } catch (NoSuchFileException e) {
            out.values().forEach(NDArray::close);
            throw new CtlabException(file + ": safetensors file not found");
        } catch (IOException e) {
            out.values().forEach(NDArray::close);
            throw new CtlabException(file + ": cannot read safetensors file: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            out.values().forEach(NDArray::close);
            throw e;
        }
    }

    /**
     * The reused direct buffers of one {@link #read}. DJL's {@code create(ByteBuffer)} makes a CPU tensor that
     * <em>aliases</em> a direct buffer (the buffer is its storage until the GC frees it), so arrays made from
     * these are only ever copied from, never returned. Grown geometrically up to the chunk size.
     */
    private static final class ChunkBuffers {
        final int chunkBytes;
        ByteBuffer raw, wide;

        ChunkBuffers(int chunkBytes) { this.chunkBytes = chunkBytes; }

        ByteBuffer raw(int n) { return (raw = fit(raw, n, ByteOrder.LITTLE_ENDIAN)); }

        ByteBuffer wide(int n) { return (wide = fit(wide, n, ByteOrder.nativeOrder())); }

        private ByteBuffer fit(ByteBuffer b, int n, ByteOrder order) {
            if (b == null || b.capacity() < n) {
                long grown = b == null ? n : Math.max(n, Math.min(2L * b.capacity(), 2L * chunkBytes));
                b = ByteBuffer.allocateDirect((int) Math.min(Integer.MAX_VALUE - 8, grown)).order(order);
            }
            b.clear().limit(n);
            return b;
        }
    }

    private static NDArray load(FileChannel ch, TensorInfo t, NDManager manager, boolean keepF16, ChunkBuffers bufs)
            throws IOException {
        DataType outType = switch (t.dtype()) {
            case BF16 -> DataType.FLOAT32;   // any bf16 NDArray aborts DJL 0.36 on the CPU (Precision)
            case F16 -> keepF16 ? DataType.FLOAT16 : DataType.FLOAT32;
            default -> t.dtype().djl;
        };
        long[] dims = t.shape();
        long nbytes = t.end() - t.begin();
        if (nbytes == 0) return manager.zeros(new Shape(dims), outType);
        long rows = dims.length == 0 ? 1 : dims[0];
        long rowBytes = nbytes / rows;
        if (rowBytes > Integer.MAX_VALUE / 2) {
            throw new CtlabException("tensor '" + t.name() + "' has rows of " + rowBytes + " bytes; more than 1 GiB per row"
                    + " of dim 0 is not supported");
        }
        long perChunk = Math.max(1, bufs.chunkBytes / rowBytes);
        if (perChunk >= rows) {
            NDArray part = chunk(ch, t, 0, rows, rowBytes, manager, keepF16, bufs);
            if (t.dtype() == DType.F16 && !keepF16) return part;   // widened by toType: already libtorch's memory
            try (part) {
                return part.duplicate();   // part aliases the reused buffers
            }
        }
        NDArray dst = manager.create(new Shape(dims), outType);   // uninitialised, libtorch's memory
        try {
            long[] min = new long[dims.length], max = dims.clone(), step = new long[dims.length];
            Arrays.fill(step, 1);
            for (long r = 0; r < rows; r += perChunk) {
                long r1 = Math.min(rows, r + perChunk);
                try (NDArray part = chunk(ch, t, r, r1, rowBytes, manager, keepF16, bufs)) {
                    min[0] = r;
                    max[0] = r1;
                    JniUtils.indexSet((PtNDArray) dst, (PtNDArray) part, min, max, step);   // dst[r:r1] = part
                }
            }
            return dst;
        } catch (IOException | RuntimeException e) {
            dst.close();
            throw e;
        }
    }

    /** Rows {@code [r0, r1)} of {@code t} as an array in the load's output type; it may alias {@code bufs}. */
    private static NDArray chunk(FileChannel ch, TensorInfo t, long r0, long r1, long rowBytes, NDManager manager,
                                 boolean keepF16, ChunkBuffers bufs) throws IOException {
        long[] dims = t.shape().clone();
        if (dims.length > 0) dims[0] = r1 - r0;
        Shape shape = new Shape(dims);
        int n = Math.toIntExact((r1 - r0) * rowBytes);
        ByteBuffer raw = bufs.raw(n);
        readFully(ch, raw, t.begin() + r0 * rowBytes);
        raw.flip();
        return switch (t.dtype()) {
            case BF16 -> {
                // bf16 is the upper half of an fp32: widening is a 16-bit shift, exact.
                ByteBuffer f = bufs.wide(2 * n);
                while (raw.hasRemaining()) f.putInt((raw.getShort() & 0xFFFF) << 16);
                yield manager.create(f.flip(), shape, DataType.FLOAT32);
            }
            case F16 -> {
                if (keepF16) yield manager.create(raw, shape, DataType.FLOAT16);
                try (NDArray half = manager.create(raw, shape, DataType.FLOAT16)) {
                    yield half.toType(DataType.FLOAT32, true);
                }
            }
            default -> manager.create(raw, shape, t.dtype().djl);
        };
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) throw new IOException("unexpected end of file at byte " + pos);
            pos += r;
        }
    }

    /**
     * Reads a model's weights from a Hugging Face model folder: {@code model.safetensors}, or the shards named
     * by {@code model.safetensors.index.json}.
     */
    public static Map<String, NDArray> readModel(Path dir, NDManager manager) {
        return readModel(dir, manager, false);
    }

    /** As {@link #readModel(Path, NDManager)}; {@code keepF16}: F16 tensors stay FLOAT16. */
    public static Map<String, NDArray> readModel(Path dir, NDManager manager, boolean keepF16) {
        return readModel(dir, manager, keepF16, (name, a) -> a);
    }

    /**
     * As {@link #readModel(Path, NDManager, boolean)}, passing each tensor through {@code then} (name, array; it
     * returns the array to keep and closes the one it replaces) as soon as it is read, before the next is read:
     * e.g. a cast to the storage dtype, so the whole model never exists in the wider type.
     */
    public static Map<String, NDArray> readModel(Path dir, NDManager manager, boolean keepF16,
                                                 BiFunction<String, NDArray, NDArray> then) {
        Path single = dir.resolve(SINGLE_FILE);
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(single)) return read(single, manager, null, keepF16, CHUNK_BYTES, then);
        if (!Files.isRegularFile(index)) {
            throw new CtlabException(dir + ": no " + SINGLE_FILE + " or " + INDEX_FILE + " in the model folder");
        }
        Map<String, Set<String>> byShard = readIndex(index);
        Map<String, NDArray> out = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Set<String>> e : byShard.entrySet()) {
                Path shard = dir.resolve(e.getKey());
                if (!Files.isRegularFile(shard)) {
                    throw new CtlabException(index + ": weight_map names shard '" + e.getKey()
                            + "' (e.g. for tensor '" + e.getValue().iterator().next() + "') but " + shard + " does not exist");
                }
                out.putAll(read(shard, manager, e.getValue(), keepF16, CHUNK_BYTES, then));
            }
            return out;
        } catch (RuntimeException e) {
            out.values().forEach(NDArray::close);
            throw e;
        }
    }

    /** Shard file name to the tensor names it must hold, from a {@code model.safetensors.index.json}. */
    static Map<String, Set<String>> readIndex(Path index) {
        JsonNode root;
        try {
            root = Jsonl.MAPPER.readTree(Files.readAllBytes(index));
        } catch (IOException e) {
            throw new CtlabException(index + ": cannot read shard index: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) throw new CtlabException(index + ": missing field 'weight_map'");
        Map<String, Set<String>> byShard = new TreeMap<>();
        map.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) {
                throw new CtlabException(index + ": weight_map entry '" + e.getKey() + "' must be a file name");
            }
            String shard = e.getValue().asText();
            if (shard.contains("/") || shard.contains("\\") || shard.equals("..")) {
                throw new CtlabException(index + ": weight_map entry '" + e.getKey() + "' names '" + shard
                        + "' outside the model folder");
            }
            byShard.computeIfAbsent(shard, k -> new LinkedHashSet<>()).add(e.getKey());
        });
        return byShard;
    }

    /**
     * Writes tensors atomically (temp file + rename) in the array's dtype, names sorted, header padded to 8
     * bytes like the reference implementation. {@code metadata} goes to {@code __metadata__}.
     */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) {
        TreeMap<String, NDArray> sorted = new TreeMap<>(tensors);
        ObjectNode header = Jsonl.MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, NDArray> e : sorted.entrySet()) {
            NDArray a = e.getValue();
            DType dt;
            try {
                dt = DType.of(a.getDataType());
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "': " + ex.getMessage());
            }
            long n = a.getShape().size() * dt.bytes;
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dt.name());
            var shape = t.putArray("shape");
            for (long d : a.getShape().getShape()) shape.add(d);
            t.putArray("data_offsets").add(offset).add(offset + n);
            offset += n;
        }
        byte[] json;
        try {
            json = Jsonl.MAPPER.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] hb = Arrays.copyOf(json, padded);
        Arrays.fill(hb, json.length, padded, (byte) ' ');
        AtomicFiles.write(file, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(hb);
            for (NDArray a : sorted.values()) {
                ByteBuffer bb = a.toByteBuffer().order(ByteOrder.nativeOrder());
                if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
                    throw new IllegalStateException("safetensors writing needs a little-endian machine");
                }
                byte[] chunk = new byte[Math.min(bb.remaining(), 1 << 20)];
                while (bb.hasRemaining()) {
                    int k = Math.min(chunk.length, bb.remaining());
                    bb.get(chunk, 0, k);
                    out.write(chunk, 0, k);
                }
            }
        });
    }
}

package ctlab.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ctlab.CtlabException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * Storage precision of the frozen base weights ({@code model_dtype}) and the record of which NDArray ops
 * DJL 0.36 + PyTorch 2.7.1 can run on half-precision arrays on the CPU.
 *
 * <p>Some ops abort the whole JVM (a native crash, no Java exception) on bf16/fp16 CPU arrays, so the
 * engine never computes in half precision on the CPU: base weights are <em>stored</em> in the asked dtype
 * (half the memory) and cast to fp32 at the point of use, one matrix at a time ({@link LlamaModel}'s
 * {@code linear}/{@code gather}); activations, LoRA weights, optimizer state, log-softmax and losses are fp32.
 * The only ops that touch half-precision arrays are {@link #NEEDED}; {@link #check} refuses a dtype for which
 * any of them is not recorded as working, with a one-line message, before a weight is read.
 *
 * <p>{@link #main} runs one op in one dtype and prints {@code OK} (or dies): {@code PrecisionProbeTest} runs
 * each op in a child JVM and checks this record against what the engine really does.
 */
public final class Precision {
    private Precision() {}

    /** The {@code model_dtype} values. */
    public enum Dtype {
        FLOAT32(DataType.FLOAT32), BFLOAT16(DataType.BFLOAT16), FLOAT16(DataType.FLOAT16);

        public final DataType djl;

        Dtype(DataType djl) { this.djl = djl; }

        public String configName() { return name().toLowerCase(Locale.ROOT); }

        /** {@code float32|bfloat16|float16} (also {@code fp32, bf16, fp16}); {@code field} names the key in errors. */
        public static Dtype parse(String s, String field) {
            if (s == null) return FLOAT32;
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "float32", "fp32", "f32" -> FLOAT32;
                case "bfloat16", "bf16" -> BFLOAT16;
                case "float16", "fp16", "f16", "half" -> FLOAT16;
                default -> throw new CtlabException(field + ": unknown dtype '" + s + "' (float32, bfloat16 or float16)");
            };
        }
    }

    /** The ops probed on half-precision CPU arrays; each builds small inputs of the dtype and runs the op. */
    public enum Op {
        CREATE(m -> m.create(halfBytes(6), new Shape(2, 3), probeType)),
        CAST_TO_FP32(m -> m.ones(new Shape(4, 4)).toType(probeType, false).toType(DataType.FLOAT32, false)),
        CAST_FROM_FP32(m -> m.ones(new Shape(4, 4)).toType(probeType, false)),
        TO_BYTES(m -> { m.ones(new Shape(4, 4)).toType(probeType, false).toByteBuffer(); return null; }),
        EMBEDDING(m -> { NDArray t = half(m, 10, 4); NDArray i = m.create(new long[] {1, 3}); return i.getNDArrayInternal().embedding(i, t, SparseFormat.DENSE).singletonOrThrow(); }),
        SLICE(m -> half(m, 8, 4).get("2:5, :")),
        MATMUL(m -> half(m, 3, 4).matMul(half(m, 4, 5))),
        LINEAR(m -> { NDArray x = half(m, 3, 4); return x.getNDArrayInternal().linear(x, half(m, 5, 4), half(m, 5)).singletonOrThrow(); }),
        ADD_BROADCAST(m -> half(m, 3, 4).add(half(m, 4))),
        MUL_BROADCAST(m -> half(m, 3, 4).mul(half(m, 1, 4))),
        SOFTMAX(m -> half(m, 3, 4).softmax(-1)),
        LOG_SOFTMAX(m -> half(m, 3, 4).logSoftmax(-1)),
        EXP(m -> half(m, 3, 4).exp()),
        POW(m -> half(m, 3, 4).abs().pow(half(m, 1))),
        MEAN(m -> half(m, 3, 4).mean(new int[] {-1}, true)),
        NEG(m -> half(m, 3, 4).neg()),
        SIGMOID(m -> Activation.sigmoid(half(m, 3, 4))),
        WHERE(m -> NDArrays.where(half(m, 3, 4).gt(0), half(m, 3, 4), half(m, 3, 4).neg())),
        GATHER(m -> half(m, 3, 4).gather(m.create(new long[] {0, 1, 2}, new Shape(3, 1)), -1)),
        CONCAT(m -> half(m, 3, 4).concat(half(m, 3, 4), -1)),
        SPLIT(m -> { NDList l = half(m, 3, 4).split(2, 1); return l.get(0); }),
        TRANSPOSE_RESHAPE(m -> half(m, 2, 3, 4).transpose(0, 2, 1).reshape(2, 12)),
        CUMSUM(m -> half(m, 3, 4).cumSum(1)),
        SUM(m -> half(m, 3, 4).sum()),
        ARGMAX(m -> half(m, 3, 4).argMax(-1));

        final Function<NDManager, NDArray> run;

        Op(Function<NDManager, NDArray> run) { this.run = run; }
    }

    /** Ops on half-precision arrays that loading and the forward pass use (everything else sees fp32). */
    public static final Set<Op> NEEDED = EnumSet.of(Op.CREATE, Op.CAST_TO_FP32, Op.CAST_FROM_FP32, Op.TO_BYTES,
            Op.SLICE, Op.CONCAT);

    /**
     * What {@code PrecisionProbeTest} measured on DJL 0.36 / PyTorch 2.7.1 CPU (2026-12-08): the ops that run on
     * arrays of each dtype. bf16: none. Making any bf16 array (from a buffer, or by casting an fp32 one) kills the
     * JVM ("terminate called without an active exception", exit 134), so no bf16 op can even be reached; DJL has
     * no bit-cast either, so bf16 bits cannot be kept as int16 and widened in torch. fp16: every probed op.
     * The test fails when the engine's behaviour departs from this record: re-run it after an engine upgrade.
     */
    static Set<Op> worksOnCpu(Dtype dtype) {
        return switch (dtype) {
            case FLOAT32, FLOAT16 -> EnumSet.allOf(Op.class);
            case BFLOAT16 -> EnumSet.noneOf(Op.class);
        };
    }

    /**
     * Refuses a dtype the engine cannot hold, naming the first needed op that fails; FLOAT32 always passes.
     * bfloat16 is refused on every device: the abort happens when the array is made, before any kernel runs
     * (not checked on a GPU, none was at hand).
     */
    public static void check(Dtype dtype, Device device, String where) {
        if (dtype == Dtype.FLOAT32) return;
        if (dtype != Dtype.BFLOAT16 && !Device.Type.CPU.equals(device.getDeviceType())) return;
        Set<Op> ok = worksOnCpu(dtype);
        for (Op op : NEEDED) {
            if (!ok.contains(op)) {
                throw new CtlabException(where + ": model_dtype " + dtype.configName() + " is not usable: op "
                        + op.name().toLowerCase(Locale.ROOT) + " aborts or fails on " + dtype.configName()
                        + " arrays in DJL 0.36 (use model_dtype float16 or float32)");
            }
        }
    }

    private static ByteBuffer halfBytes(int n) {
        ByteBuffer b = ByteBuffer.allocateDirect(2 * n).order(ByteOrder.nativeOrder());
        for (int i = 0; i < n; i++) b.putShort((short) 0x3F80);  // 1.0 in bf16
        return b.flip();
    }

    private static DataType probeType = DataType.BFLOAT16;

    private static NDArray half(NDManager m, long... shape) {
        return m.randomNormal(new Shape(shape)).toType(probeType, false);
    }

    /** {@code java ctlab.model.Precision OP DTYPE}: runs one op on arrays of DTYPE, prints OK and the result dtype. */
    public static void main(String[] args) {
        Op op = Op.valueOf(args[0]);
        probeType = Dtype.parse(args[1], "dtype").djl;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray r = op.run.apply(m);
            System.out.println("OK " + op + " " + (r == null ? "-" : r.getDataType() + " " + r.toType(DataType.FLOAT32, false).sum().getFloat()));
        }
    }
}

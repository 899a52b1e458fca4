package ctlab.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.core.JsonProcessingException;
import ctlab.CtlabException;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;
import ctlab.model.Param;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A training checkpoint: a directory {@code checkpoint-<step>/} under a run's {@code checkpoints/} folder,
 * written as {@code ckpt-tmp/} and renamed when complete (a crash never leaves a half checkpoint under a
 * real name). Contents:
 * <ul>
 *   <li>{@code params.safetensors} — trainable parameters by name (DJL's {@code NDList} SAFETENSORS encoding,
 *       readable by the Python {@code safetensors} package);</li>
 *   <li>{@code optimizer.safetensors} — AdamW moments {@code <param>.exp_avg} / {@code <param>.exp_avg_sq};</li>
 *   <li>{@code trainer_state.json} — {@link TrainerState};</li>
 *   <li>whatever the task adds ({@link TrainingTask#writeCheckpointExtras}, e.g. a PEFT adapter).</li>
 * </ul>
 */
public final class Checkpoint {
    public static final String PARAMS_FILE = "params.safetensors";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "trainer_state.json";
    static final String TMP_DIR = "ckpt-tmp";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");

    private Checkpoint() {}

    public static Path dirFor(Path checkpointsDir, int step) { return checkpointsDir.resolve("checkpoint-" + step); }

    /**
     * Writes a checkpoint atomically and deletes all but the newest {@code keep} checkpoints.
     * Returns the checkpoint's directory.
     */
    public static Path save(Path checkpointsDir, TrainerState state, List<Param> params, AdamW optimizer,
                            Consumer<Path> extras, int keep) {
        Path target = dirFor(checkpointsDir, state.step());
        Path tmp = checkpointsDir.resolve(TMP_DIR);
        try {
            Files.createDirectories(checkpointsDir);
            deleteTree(tmp);                       // leftover of a crash mid-save
            Files.createDirectories(tmp);
            writeParams(tmp.resolve(PARAMS_FILE), params);
            try (OutputStream out = newFile(tmp.resolve(OPTIMIZER_FILE))) {
                optimizer.stateArrays().encode(out, NDList.Encoding.SAFETENSORS);
            }
            try (OutputStream out = newFile(tmp.resolve(STATE_FILE))) {
                out.write(Jsonl.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
            }
            extras.accept(tmp);
            deleteTree(target);                    // re-saving the same step (e.g. final save of a finished run)
            AtomicFiles.move(tmp, target);
        } catch (IOException e) {
            throw new UncheckedIOException("writing checkpoint " + target, e);
        }
        prune(checkpointsDir, keep);
        return target;
    }

    private static void writeParams(Path file, List<Param> params) throws IOException {
        List<String> oldNames = new ArrayList<>();
        NDList list = new NDList();
        for (Param p : params) {
            oldNames.add(p.array().getName());
            p.array().setName(p.name());           // the encoder takes tensor names from the arrays
            list.add(p.array());
        }
        try (OutputStream out = newFile(file)) {
            list.encode(out, NDList.Encoding.SAFETENSORS);
        } finally {
            for (int i = 0; i < params.size(); i++) params.get(i).array().setName(oldNames.get(i));
        }
    }

    /**
     * Plain FileOutputStream, not an NIO channel: an interrupt arriving while a checkpoint is written (the
     * notebook's stop button pressed twice) must not close the file under us.
     */
    private static OutputStream newFile(Path file) throws IOException {
        return new BufferedOutputStream(new FileOutputStream(file.toFile()));
    }

    /** Completed checkpoints in {@code checkpointsDir}, oldest first (by step). */
    public static List<Path> list(Path checkpointsDir) {
        if (!Files.isDirectory(checkpointsDir)) return List.of();
        try (Stream<Path> s = Files.list(checkpointsDir)) {
            return s.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .filter(p -> Files.isRegularFile(p.resolve(STATE_FILE)))
                    .sorted(Comparator.comparingLong(Checkpoint::stepOf))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + checkpointsDir, e);
        }
    }

    public static Optional<Path> latest(Path checkpointsDir) {
        List<Path> all = list(checkpointsDir);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    private static long stepOf(Path dir) {
        Matcher m = NAME.matcher(dir.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    public static TrainerState readState(Path checkpointDir) {
        Path file = checkpointDir.resolve(STATE_FILE);
        try {
            return Jsonl.MAPPER.readValue(Jsonl.readUtf8(file), TrainerState.class);
        } catch (JsonProcessingException e) {
            throw new CtlabException(file + ": not a valid trainer state (" + e.getOriginalMessage() + ")");
        }
    }

    /**
     * Copies the saved parameters into {@code params} (in place) and the moments into {@code optimizer}.
     * Names, shapes and dtypes must match exactly; anything else is a CtlabException naming the file.
     */
    public static void restore(Path checkpointDir, TrainerState state, List<Param> params, AdamW optimizer) {
        Path paramsFile = checkpointDir.resolve(PARAMS_FILE);
        Path optimizerFile = checkpointDir.resolve(OPTIMIZER_FILE);
        try (NDManager tmp = NDManager.newBaseManager(params.get(0).array().getDevice())) {
            NDList saved = decode(tmp, paramsFile);
            Map<String, NDArray> byName = new HashMap<>();
            for (NDArray a : saved) byName.put(a.getName(), a);
            List<String> problems = new ArrayList<>();
            for (Param p : params) {
                NDArray a = byName.remove(p.name());
                if (a == null) problems.add("missing " + p.name());
                else if (!a.getShape().equals(p.array().getShape()) || a.getDataType() != DataType.FLOAT32) {
                    problems.add(p.name() + " is " + a.getDataType() + a.getShape() + ", expected float32" + p.array().getShape());
                }
            }
            if (!byName.isEmpty()) problems.add("not trainable now: " + byName.keySet());
            if (!problems.isEmpty()) {
                throw new CtlabException(paramsFile + ": checkpoint does not match the trainable parameters: " + problems);
            }
            for (NDArray a : saved) byName.put(a.getName(), a);
            for (Param p : params) copyInto(p.array(), byName.get(p.name()));
            optimizer.loadState(state.step(), decode(tmp, optimizerFile), optimizerFile.toString());
        }
    }

    /**
     * Copies {@code source}'s values into {@code target}'s existing storage. Not {@code target.set(Buffer)}:
     * in DJL 0.36's PyTorch engine that swaps the tensor's storage (views and tied weights stop sharing it),
     * and with a direct buffer it would alias memory freed with {@code source}'s manager.
     */
    static void copyInto(NDArray target, NDArray source) {
        target.set(new NDIndex("..."), source);
    }

    private static NDList decode(NDManager manager, Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return NDList.decode(manager, in);
        } catch (NoSuchFileException e) {
            throw new CtlabException(file + ": checkpoint file missing");
        } catch (IOException | RuntimeException e) {
            throw new CtlabException(file + ": cannot read checkpoint tensors (" + e.getMessage() + ")", e);
        }
    }

    private static void prune(Path checkpointsDir, int keep) {
        List<Path> all = list(checkpointsDir);
        for (int i = 0; i < all.size() - keep; i++) deleteTree(all.get(i));
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) return;
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException("deleting " + root, e);
        }
    }
}

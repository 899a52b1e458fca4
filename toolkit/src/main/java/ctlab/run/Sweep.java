package ctlab.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.CtlabException;
import ctlab.Version;
import ctlab.io.AtomicFiles;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * {@code ctlab sweep SOURCE_RUN --grid KEY=V1,V2 --until STAGE}: the detector stages of a finished run redone under
 * config variations (issue 13's sweeps of CE over {@code ce.beta} and {@code sft.max_examples}, of the rollout over
 * {@code rollout.k}). Each grid point is a sub-run that starts from copies of the source's finished stages whose config
 * slice the variation leaves unchanged, so only the stages it touches are recomputed (a β point re-scores with the
 * same SFT models; an SFT-size point retrains them). The summary reads each sub-run's detector metrics against the
 * planted ground truth (score-ce's {@code planted}, rollout's {@code summary.json}) and their costs.
 */
public final class Sweep {
    private Sweep() {}

    /**
     * The stage folders of {@code source} a sub-run under {@code config} can take over as they are: the leading
     * finished stages, up to and including {@code until}, whose config slice is the one their DONE recorded. The first
     * changed (or unfinished) stage and every stage after it are left to run.
     */
    public static List<String> reusable(Pipeline pipeline, Path source, RunConfig config, String until) {
        List<String> out = new ArrayList<>();
        int last = pipeline.stages().indexOf(pipeline.stage(until));
        for (int i = 0; i <= last; i++) {
            Stage s = pipeline.stages().get(i);
            String folder = pipeline.folderName(s.name());
            Optional<StageMarker> done = StageMarker.read(source.resolve(folder).resolve(StageMarker.DONE));
            if (done.isEmpty()) break;
            String hash = Hashes.sha256(ConfigLoader.canonical(Pipeline.configSlice(config, s.configKeys())));
            if (!hash.equals(done.get().configHash())) break;
            out.add(folder);
        }
        return out;
    }

    /**
     * Copies {@code folders} of {@code source} into {@code dir}, each one that {@code dir} does not have yet (a
     * re-run sweep keeps what it has). Each folder is copied to a hidden temp name and renamed, so a cut-off copy is
     * never taken for a stage; file times are kept, so the DONE markers' output checks take their fast path.
     */
    public static void seed(Path source, Path dir, List<String> folders) {
        try {
            Files.createDirectories(dir);
            for (String f : folders) {
                Path to = dir.resolve(f);
                if (Files.exists(to)) continue;
                Path tmp = dir.resolve("." + f + ".copy");
                deleteTree(tmp);
                Path from = source.resolve(f);
                try (Stream<Path> walk = Files.walk(from)) {
                    for (Path p : walk.toList()) {
                        Path target = tmp.resolve(from.relativize(p).toString());
                        if (Files.isDirectory(p)) Files.createDirectories(target);
                        else Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
                    }
                }
                Files.move(tmp, to, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("copying the finished stages of " + source + " into " + dir, e);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    /** One sub-run of the sweep: its grid point, folder, resolved config and the folders taken from the source. */
    public record Point(AblationGrid.SubRun run, RunConfig config, List<String> reused) {}

    /** {@code sweep.json}'s tree: per point the SFT data sizes, CE vs planted, rollout vs planted, and the costs. */
    public static ObjectNode summarize(Pipeline pipeline, Path source, AblationGrid grid, List<Point> points) {
        ObjectNode root = Jsonl.MAPPER.createObjectNode();
        root.put("version", Version.get());
        root.put("source", source.toString());
        ObjectNode axes = root.putObject("grid");
        grid.axes().forEach(a -> axes.set(a.key(), Jsonl.MAPPER.valueToTree(a.values())));
        ArrayNode rows = root.putArray("points");
        for (Point p : points) {
            Path dir = p.run().dir();
            ObjectNode r = rows.addObject();
            r.set("point", Jsonl.MAPPER.valueToTree(p.run().point()));
            r.put("dir", p.run().label());
            r.set("reused", Jsonl.MAPPER.valueToTree(p.reused()));
            String select = pipeline.folderName("select");
            int maxExamples = p.config().sft().maxExamples();
            for (String side : List.of("pos", "neg")) {
                long lines = lines(dir.resolve(select).resolve("sft-" + side + ".jsonl"));
                r.put("sft_" + side + "_examples", maxExamples > 0 ? Math.min(maxExamples, lines) : lines);
            }
            double ceSeconds = 0;
            for (String stage : List.of("train-pos", "train-neg", "score-ce")) ceSeconds += seconds(pipeline, dir, stage);
            r.put("ce_seconds", ceSeconds);
            JsonNode ce = lastMetrics(dir.resolve(pipeline.folderName("score-ce")).resolve(RunDir.METRICS));
            if (ce != null) {
                r.put("ce_tokens_scored", ce.path("tokens_scored").asLong());
                r.set("ce_planted", ce.path("planted").isMissingNode() ? null : ce.get("planted"));
            }
            Path rollout = dir.resolve(pipeline.folderName("rollout"));
            if (StageMarker.read(rollout.resolve(StageMarker.DONE)).isPresent()) {
                JsonNode s = readJson(rollout.resolve("summary.json"));
                ObjectNode ro = r.putObject("rollout");
                ro.put("trajectories", s.path("trajectories").asInt());
                ro.put("tokens_generated", s.path("tokens_generated").asLong());
                ro.put("seconds", s.path("seconds").asDouble());
                ro.set("planted", s.path("planted").isMissingNode() ? null : s.get("planted"));
            }
        }
        return root;
    }

    /** The summary as Markdown: one row per grid point. */
    public static String markdown(ObjectNode agg) {
        List<String> keys = new ArrayList<>();
        agg.get("grid").fieldNames().forEachRemaining(keys::add);
        boolean rollout = false;
        for (JsonNode r : agg.get("points")) rollout |= r.has("rollout");
        StringBuilder sb = new StringBuilder("# Detector sweep of " + agg.get("source").asText() + "\n\n");
        sb.append("CE vs the planted trap tokens, over the rejected responses that took the trap: AUROC of 1 − s_t, "
                + "precision@1 (lowest s_t is the planted token), within ±1. CE cost: train-pos + train-neg + score-ce "
                + "seconds (2 forward passes per scored token).");
        if (rollout) sb.append(" Rollout vs planted: exact and within ±1 per rule, over the trajectories that took the trap.");
        sb.append("\n\n|");
        for (String k : keys) sb.append(' ').append(k).append(" |");
        sb.append(" SFT pos / neg examples | took the trap | AUROC | precision@1 | within ±1 | CE s | CE tokens |");
        if (rollout) sb.append(" rollout paper exact / ±1 | official exact / ±1 | rollout tokens | rollout s |");
        sb.append("\n|").append("---|".repeat(keys.size())).append("---|---:|---:|---:|---:|---:|---:|");
        if (rollout) sb.append("---|---|---:|---:|");
        sb.append('\n');
        for (JsonNode r : agg.get("points")) {
            sb.append('|');
            for (String k : keys) sb.append(' ').append(r.get("point").path(k).asText()).append(" |");
            JsonNode p = r.path("ce_planted");
            sb.append(String.format(Locale.ROOT, " %d / %d | %s | %s | %s | %s | %.1f | %d |", r.get("sft_pos_examples").asLong(),
                    r.get("sft_neg_examples").asLong(), p.path("trajectories").asText("–"), num(p.path("pooled_auroc"), "%.3f"),
                    num(p.path("precision_at_1"), "%.3f"), num(p.path("within_one"), "%.3f"), r.get("ce_seconds").asDouble(),
                    r.path("ce_tokens_scored").asLong()));
            if (rollout) {
                JsonNode ro = r.path("rollout"), pl = ro.path("planted");
                sb.append(String.format(Locale.ROOT, " %s / %s | %s / %s | %s | %s |", num(pl.path("paper").path("exact_rate"), "%.3f"),
                        num(pl.path("paper").path("within_one_rate"), "%.3f"), num(pl.path("official").path("exact_rate"), "%.3f"),
                        num(pl.path("official").path("within_one_rate"), "%.3f"), ro.path("tokens_generated").asText("–"),
                        num(ro.path("seconds"), "%.1f")));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Writes {@code sweep.json} and {@code sweep.md} (each atomically); returns the Markdown. */
    public static String write(Path runDir, ObjectNode agg) {
        String md = markdown(agg);
        AtomicFiles.writeString(runDir.resolve("sweep.json"), agg.toPrettyString() + "\n");
        AtomicFiles.writeString(runDir.resolve("sweep.md"), md);
        return md;
    }

    private static String num(JsonNode v, String fmt) {
        return v == null || !v.isNumber() ? "–" : String.format(Locale.ROOT, fmt, v.asDouble());
    }

    private static double seconds(Pipeline pipeline, Path dir, String stage) {
        return StageMarker.read(dir.resolve(pipeline.folderName(stage)).resolve(StageMarker.DONE))
                .map(StageMarker::seconds).orElse(0.0);
    }

    private static long lines(Path file) {
        if (!Files.isRegularFile(file)) return 0;
        try (Stream<String> l = Files.lines(file)) {
            return l.filter(s -> !s.isBlank()).count();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
    }

    private static JsonNode lastMetrics(Path file) {
        if (!Files.isRegularFile(file)) return null;
        JsonNode last = null;
        for (Jsonl.Line l : Jsonl.read(file)) last = l.json();
        return last;
    }

    private static JsonNode readJson(Path file) {
        try {
            return Jsonl.MAPPER.readTree(Jsonl.readUtf8(file));
        } catch (IOException e) {
            throw new CtlabException(file + ": not JSON (" + e.getMessage() + ")", e);
        }
    }
}

package ctlab.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The results of one {@code ctlab bench}: every (side, setting, variant) run, and per phase the best run of
 * each side with the ratio ctlab / torch against the project's targets (train ≥ 1.0×, decode ≥ 2.0× HF
 * {@code generate}).
 */
public final class BenchReport {
    /** Target ratio ctlab / torch per phase; phases not listed have none. */
    static final Map<String, Double> TARGETS = Map.of("train", 1.0, "decode_b", 2.0, "sample", 3.0);

    private final BenchConfig config;
    private final String torchSkipped;
    private final List<ObjectNode> runs = new ArrayList<>();
    private final String started = Instant.now().toString();
    private final String loadAtStart = EngineBench.loadAverage();

    BenchReport(BenchConfig config, String torchSkipped) {
        this.config = config;
        this.torchSkipped = torchSkipped;
    }

    void add(int round, List<ObjectNode> results) {
        for (ObjectNode r : results) {
            r.put("round", round);
            runs.add(r);
        }
    }

    public List<ObjectNode> runs() { return List.copyOf(runs); }

    /** Why the PyTorch reference did not run, or null when it did. */
    public String torchSkipped() { return torchSkipped; }

    /** Phases in the order they were measured (forward, decode_b1, decode_b32, train). */
    public List<String> phases() {
        Set<String> names = new LinkedHashSet<>();
        for (ObjectNode r : runs) r.path("phases").fieldNames().forEachRemaining(names::add);
        return new ArrayList<>(names);
    }

    /** The run of {@code side} with the most tokens/s in {@code phase}, or null. */
    public ObjectNode best(String side, String phase) {
        ObjectNode best = null;
        for (ObjectNode r : runs) {
            if (!side.equals(r.path("side").asText()) || !r.path("phases").has(phase)) continue;
            if (best == null || tps(r, phase) > tps(best, phase)) best = r;
        }
        return best;
    }

    /** The run of {@code side} with the highest {@code field} in {@code phase} (runs without it are skipped), or null. */
    ObjectNode bestBy(String side, String phase, String field) {
        ObjectNode best = null;
        for (ObjectNode r : runs) {
            if (!side.equals(r.path("side").asText()) || !r.path("phases").path(phase).has(field)) continue;
            if (best == null || metric(r, phase, field) > metric(best, phase, field)) best = r;
        }
        return best;
    }

    private static double metric(JsonNode run, String phase, String field) { return run.path("phases").path(phase).path(field).asDouble(); }

    /** ctlab tokens/s over torch tokens/s at each side's best setting; NaN without a torch run. */
    public double ratio(String phase) {
        ObjectNode c = best("ctlab", phase), t = best("torch", phase);
        return c == null || t == null ? Double.NaN : tps(c, phase) / tps(t, phase);
    }

    static Double target(String phase) {
        if (phase.startsWith("decode_b")) return TARGETS.get("decode_b");
        return TARGETS.get(phase);
    }

    private static double tps(JsonNode run, String phase) { return run.path("phases").path(phase).path("tokens_per_s").asDouble(); }

    private static double rss(JsonNode run, String phase) { return run.path("phases").path(phase).path("peak_rss_mb").asDouble(Double.NaN); }

    /** The human-readable report: header, every run, then the side-by-side comparison. */
    public String render() {
        StringBuilder sb = new StringBuilder();
        List<String> phases = phases();
        sb.append("ctlab bench: ").append(config.describe()).append('\n');
        sb.append("machine: ").append(machine()).append("; load average at start ").append(loadAtStart)
          .append(", at end ").append(EngineBench.loadAverage()).append('\n');
        for (String side : List.of("ctlab", "torch")) {
            runs.stream().filter(r -> side.equals(r.path("side").asText())).findFirst().ifPresent(r ->
                    sb.append(side).append(": ").append(r.path("versions").toString()).append('\n'));
        }
        sb.append("threads: each setting sets OMP_NUM_THREADS = MKL_NUM_THREADS = intra-op threads, inter-op threads 1; "
                + "ctlab via -Dai.djl.pytorch.num_threads, torch via torch.set_num_threads\n");
        sb.append("tokens/s of the fastest timed iteration over all rounds (other load on the machine only slows "
                + "iterations down; medians are in --json); forward/train: batch x seq tokens per iteration, decode: "
                + "batch x new tokens per generate (prefill included); peak RSS per phase in MB\n\n");

        sb.append("all runs (tokens/s, peak RSS MB in brackets):\n");
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-5s %-6s %-17s %-34s", "round", "side", "setting", "variant"));
        for (String p : phases) head.append(String.format(Locale.ROOT, " %20s", p));
        head.append("  load before -> after");
        sb.append(head).append('\n');
        for (ObjectNode r : runs) {
            sb.append(String.format(Locale.ROOT, "%-5d %-6s %-17s %-34s", r.path("round").asInt(), r.path("side").asText(), r.path("setting").asText(),
                    shorten(r.path("variant").asText(), 34)));
            for (String p : phases) {
                sb.append(r.path("phases").has(p)
                        ? String.format(Locale.ROOT, " %12.0f (%5.0f)", tps(r, p), rss(r, p))
                        : String.format(Locale.ROOT, " %20s", "-"));
            }
            sb.append("  ").append(r.path("load_before").asText()).append(" -> ").append(r.path("load_after").asText()).append('\n');
        }

        sb.append("\neach side at its best setting per phase (ratio = ctlab / torch):\n");
        sb.append(String.format(Locale.ROOT, "%-11s %12s %-17s %12s %-36s %7s  %-22s %s%n", "phase", "ctlab tok/s",
                "ctlab setting", "torch tok/s", "torch setting", "ratio", "target", "peak RSS MB ctlab / torch"));
        for (String p : phases) {
            ObjectNode c = best("ctlab", p), t = best("torch", p);
            double ratio = ratio(p);
            Double target = target(p);
            String verdict;
            if (target == null) verdict = "-";
            else if (Double.isNaN(ratio)) verdict = String.format(Locale.ROOT, ">= %.1fx (no reference)", target);
            else if (ratio >= target) verdict = String.format(Locale.ROOT, ">= %.1fx met", target);
            else verdict = String.format(Locale.ROOT, ">= %.1fx MISSED by %.0f%%", target, 100 * (1 - ratio / target));
            sb.append(String.format(Locale.ROOT, "%-11s %12s %-17s %12s %-36s %7s  %-22s %s / %s%n", p,
                    c == null ? "-" : String.format(Locale.ROOT, "%.0f", tps(c, p)),
                    c == null ? "-" : c.path("setting").asText(),
                    t == null ? "-" : String.format(Locale.ROOT, "%.0f", tps(t, p)),
                    t == null ? "-" : t.path("setting").asText() + ", " + shortVariant(t),
                    Double.isNaN(ratio) ? "-" : String.format(Locale.ROOT, "%.2fx", ratio), verdict,
                    c == null ? "-" : String.format(Locale.ROOT, "%.0f", rss(c, p)),
                    t == null ? "-" : String.format(Locale.ROOT, "%.0f", rss(t, p))));
        }
        sb.append("\nefficiency, tokens per CPU-second of the whole process (all threads; less sensitive to other load "
                + "than wall time, but blind to parallel speed-up), best run per side:\n");
        sb.append(String.format(Locale.ROOT, "%-11s %14s %-17s %14s %-36s %7s%n", "phase", "ctlab tok/cpu-s",
                "ctlab setting", "torch tok/cpu-s", "torch setting", "ratio"));
        for (String p : phases) {
            ObjectNode c = bestBy("ctlab", p, "tokens_per_cpu_s"), t = bestBy("torch", p, "tokens_per_cpu_s");
            if (c == null) continue;
            double cv = metric(c, p, "tokens_per_cpu_s"), tv = t == null ? Double.NaN : metric(t, p, "tokens_per_cpu_s");
            sb.append(String.format(Locale.ROOT, "%-11s %14.0f %-17s %14s %-36s %7s%n", p, cv, c.path("setting").asText(),
                    t == null ? "-" : String.format(Locale.ROOT, "%.0f", tv),
                    t == null ? "-" : t.path("setting").asText() + ", " + shortVariant(t),
                    t == null ? "-" : String.format(Locale.ROOT, "%.2fx", cv / tv)));
        }
        if (torchSkipped != null) sb.append("\nPyTorch reference skipped: ").append(torchSkipped).append('\n');
        for (ObjectNode r : runs) {
            if (!r.has("profile")) continue;
            r.path("profile").fields().forEachRemaining(e -> sb.append(renderProfile(r, e.getKey(), e.getValue())));
        }
        return sb.toString();
    }

    private static String renderProfile(ObjectNode run, String phase, JsonNode prof) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%nprofile of %s, %s, %s: %.2f ms wall per iteration, %.2f ms inside ops, "
                        + "%.2f ms outside ops (framework overhead)%s%n", phase, run.path("side").asText(),
                run.path("setting").asText() + ", " + shortVariant(run), prof.path("wall_ms_per_iter").asDouble(),
                prof.path("in_ops_ms_per_iter").asDouble(), prof.path("outside_ops_ms_per_iter").asDouble(),
                prof.has("top_level_ops_per_iter")
                        ? String.format(Locale.ROOT, ", %.0f top-level op calls", prof.path("top_level_ops_per_iter").asDouble())
                        : ""));
        sb.append(String.format(Locale.ROOT, "  %-44s %10s %12s %12s%n", "op (self time order)", "calls/iter", "self ms/iter", "total ms/iter"));
        for (JsonNode op : prof.path("ops")) {
            sb.append(String.format(Locale.ROOT, "  %-44s %10.1f %12.3f %12.3f%n", shorten(op.path("op").asText(), 44),
                    op.path("calls_per_iter").asDouble(), op.path("self_ms_per_iter").asDouble(),
                    op.path("total_ms_per_iter").asDouble()));
        }
        return sb.toString();
    }

    private static String shortVariant(JsonNode run) {
        String v = run.path("variant").asText();
        int i = v.indexOf("attn=");
        return i >= 0 ? v.substring(i) : v;
    }

    private static String shorten(String s, int max) { return s.length() <= max ? s : s.substring(0, max - 1) + "~"; }

    private static String machine() {
        String cpu = "cpu unknown";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux
        }
        return Runtime.getRuntime().availableProcessors() + " cpus (" + cpu + ")";
    }

    /** Everything measured, for {@code --json}: config, machine, runs, and the per-phase comparison. */
    public ObjectNode toJson() {
        ObjectNode n = Jsonl.MAPPER.createObjectNode();
        n.put("started", started);
        n.set("config", Jsonl.MAPPER.valueToTree(config));
        n.put("machine", machine());
        n.put("load_at_start", loadAtStart);
        n.put("load_at_end", EngineBench.loadAverage());
        if (torchSkipped != null) n.put("torch_skipped", torchSkipped);
        ArrayNode rs = n.putArray("runs");
        runs.forEach(rs::add);
        ObjectNode cmp = n.putObject("comparison");
        for (String p : phases()) {
            ObjectNode c = cmp.putObject(p);
            ObjectNode bc = best("ctlab", p), bt = best("torch", p);
            if (bc != null) {
                c.put("ctlab_tokens_per_s", tps(bc, p));
                c.put("ctlab_setting", bc.path("setting").asText());
            }
            if (bt != null) {
                c.put("torch_tokens_per_s", tps(bt, p));
                c.put("torch_setting", bt.path("setting").asText() + ", " + shortVariant(bt));
            }
            if (!Double.isNaN(ratio(p))) c.put("ratio", ratio(p));
            if (target(p) != null) c.put("target", target(p));
        }
        return n;
    }
}

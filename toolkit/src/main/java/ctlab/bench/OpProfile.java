package ctlab.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ctlab.io.Jsonl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Self time per op from a PyTorch profiler chrome trace (what {@code JniUtils.stopProfile} writes): for each
 * thread, complete events ({@code "ph": "X"}) are nested by time and an op's self time is its duration minus
 * its direct children's. The sum of top-level op durations against the wall time shows how much of a step is
 * spent outside libtorch ops (JNI calls, Java, NDArray bookkeeping).
 */
final class OpProfile {
    record Op(String name, long calls, double selfUs, double totalUs) {}

    private final List<Op> ops;
    private final double topLevelUs;
    private final long topLevelCalls;

    private OpProfile(List<Op> ops, double topLevelUs, long topLevelCalls) {
        this.ops = ops;
        this.topLevelUs = topLevelUs;
        this.topLevelCalls = topLevelCalls;
    }

    private record Event(String name, String tid, double ts, double dur) {}

    static OpProfile fromChromeTrace(Path trace) {
        JsonNode root;
        try {
            root = Jsonl.MAPPER.readTree(trace.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("reading profiler trace " + trace, e);
        }
        JsonNode events = root.isArray() ? root : root.path("traceEvents");
        Map<String, List<Event>> byThread = new LinkedHashMap<>();
        for (JsonNode e : events) {
            if (!"X".equals(e.path("ph").asText()) || !e.has("dur")) continue;
            Event ev = new Event(e.path("name").asText(), e.path("pid").asText() + "/" + e.path("tid").asText(),
                    e.path("ts").asDouble(), e.path("dur").asDouble());
            byThread.computeIfAbsent(ev.tid(), k -> new ArrayList<>()).add(ev);
        }
        Map<String, double[]> acc = new HashMap<>();   // name -> {calls, self, total}
        double topLevel = 0;
        long topLevelCalls = 0;
        for (List<Event> list : byThread.values()) {
            list.sort(Comparator.comparingDouble(Event::ts).thenComparing(Comparator.comparingDouble(Event::dur).reversed()));
            Deque<double[]> stack = new ArrayDeque<>();      // {end, childTime, index}
            double[] self = new double[list.size()];
            for (int i = 0; i < list.size(); i++) {
                Event ev = list.get(i);
                while (!stack.isEmpty() && stack.peek()[0] <= ev.ts()) stack.pop();
                if (stack.isEmpty()) {
                    topLevel += ev.dur();
                    topLevelCalls++;
                } else self[(int) stack.peek()[2]] -= ev.dur();
                self[i] += ev.dur();
                stack.push(new double[] {ev.ts() + ev.dur(), 0, i});
            }
            for (int i = 0; i < list.size(); i++) {
                double[] a = acc.computeIfAbsent(list.get(i).name(), k -> new double[3]);
                a[0]++;
                a[1] += self[i];
                a[2] += list.get(i).dur();
            }
        }
        List<Op> ops = new ArrayList<>();
        acc.forEach((name, a) -> ops.add(new Op(name, (long) a[0], a[1], a[2])));
        ops.sort(Comparator.comparingDouble(Op::selfUs).reversed());
        return new OpProfile(ops, topLevel, topLevelCalls);
    }

    /** Top ops by self time per iteration, the time inside ops and the rest of the wall time. */
    ObjectNode toJson(double wallMs, int iters) {
        ObjectNode n = Jsonl.MAPPER.createObjectNode();
        n.put("iters", iters);
        n.put("wall_ms_per_iter", wallMs / iters);
        n.put("in_ops_ms_per_iter", topLevelUs / 1000 / iters);
        n.put("outside_ops_ms_per_iter", wallMs / iters - topLevelUs / 1000 / iters);
        n.put("top_level_ops_per_iter", (double) topLevelCalls / iters);   // calls into libtorch
        ArrayNode top = n.putArray("ops");
        for (Op op : ops.subList(0, Math.min(25, ops.size()))) {
            ObjectNode o = top.addObject();
            o.put("op", op.name());
            o.put("calls_per_iter", (double) op.calls() / iters);
            o.put("self_ms_per_iter", op.selfUs() / 1000 / iters);
            o.put("total_ms_per_iter", op.totalUs() / 1000 / iters);
        }
        return n;
    }
}

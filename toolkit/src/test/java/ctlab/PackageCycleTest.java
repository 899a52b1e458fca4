package ctlab;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No package of the toolkit's main classes depends, directly or through others, on a package that depends on it.
 * The edges come from {@code jdeps -verbose:class} over the compiled classes (what the bytecode really references,
 * fully-qualified names included); a cycle fails with its packages and one class-level reference per edge.
 */
class PackageCycleTest {
    /** Edges allowed, as "from -> to": none. */
    private static final Set<String> ALLOWED = Set.of();

    private static final Pattern EDGE = Pattern.compile("^\\s+(ctlab\\.\\S+)\\s+->\\s+(ctlab\\.\\S+)\\s+\\S+");

    @Test void mainPackagesHaveNoCycle() throws Exception {
        Map<String, Map<String, String>> graph = packageGraph(mainClasses());
        assertTrue(graph.containsKey("ctlab.run") && graph.containsKey("ctlab.task"), "jdeps saw the toolkit's packages: " + graph.keySet());
        List<List<String>> cycles = cycles(graph);
        StringBuilder msg = new StringBuilder();
        for (List<String> c : cycles) {
            msg.append("\npackage cycle ").append(c).append(':');
            for (String from : c) {
                for (Map.Entry<String, String> e : graph.get(from).entrySet()) {
                    if (c.contains(e.getKey())) msg.append("\n  ").append(from).append(" -> ").append(e.getKey())
                            .append("  (e.g. ").append(e.getValue()).append(')');
                }
            }
        }
        assertEquals(List.of(), cycles, msg.toString());
    }

    @Test void aCycleIsFound() {
        Map<String, Map<String, String>> g = new TreeMap<>();
        g.computeIfAbsent("a", k -> new TreeMap<>()).put("b", "");
        g.computeIfAbsent("b", k -> new TreeMap<>()).put("c", "");
        g.computeIfAbsent("c", k -> new TreeMap<>()).put("a", "");
        g.computeIfAbsent("c", k -> new TreeMap<>()).put("d", "");
        g.computeIfAbsent("d", k -> new TreeMap<>());
        assertEquals(List.of(List.of("a", "b", "c")), cycles(g));
    }

    private static Path mainClasses() throws URISyntaxException {
        return Path.of(CtlabException.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** package → (package it references → one "Class -> Class" example), ctlab packages only, allowed edges left out. */
    static Map<String, Map<String, String>> packageGraph(Path classes) {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps")
                .orElseThrow(() -> new AssertionError("jdeps is not in this JDK (module jdk.jdeps)"));
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(err), "-verbose:class", "-filter:none", classes.toString());
        assertEquals(0, rc, "jdeps failed: " + err);
        Map<String, Map<String, String>> graph = new TreeMap<>();
        for (String line : out.toString().split("\\R")) {
            Matcher m = EDGE.matcher(line);
            if (!m.find()) continue;
            String from = pkg(m.group(1)), to = pkg(m.group(2));
            graph.computeIfAbsent(from, k -> new TreeMap<>());
            graph.computeIfAbsent(to, k -> new TreeMap<>());
            if (from.equals(to) || ALLOWED.contains(from + " -> " + to)) continue;
            graph.get(from).putIfAbsent(to, m.group(1) + " -> " + m.group(2));
        }
        return graph;
    }

    private static String pkg(String className) { return className.substring(0, className.lastIndexOf('.')); }

    /** Strongly connected components with more than one package (Tarjan), each sorted. */
    static List<List<String>> cycles(Map<String, Map<String, String>> graph) {
        Map<String, Integer> index = new HashMap<>(), low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<List<String>> out = new ArrayList<>();
        for (String v : graph.keySet()) if (!index.containsKey(v)) connect(v, graph, index, low, stack, onStack, out);
        out.sort((a, b) -> a.get(0).compareTo(b.get(0)));
        return out;
    }

    private static void connect(String v, Map<String, Map<String, String>> g, Map<String, Integer> index,
                                Map<String, Integer> low, Deque<String> stack, Set<String> onStack, List<List<String>> out) {
        index.put(v, index.size());
        low.put(v, index.get(v));
        stack.push(v);
        onStack.add(v);
        for (String w : g.getOrDefault(v, Map.of()).keySet()) {
            if (!index.containsKey(w)) {
                connect(w, g, index, low, stack, onStack, out);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            List<String> component = new ArrayList<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (!w.equals(v));
            if (component.size() > 1) {
                component.sort(null);
                out.add(component);
            }
        }
    }
}

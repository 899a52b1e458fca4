package ctlab.kernel;

import jdk.jshell.DeclarationSnippet;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.SourceCodeAnalysis.Completeness;
import jdk.jshell.UnresolvedReferenceException;
import jdk.jshell.VarSnippet;

import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * JShell in this JVM: splits a cell into snippets with JShell's own completion analysis, evaluates them in
 * order, and returns the value of a trailing expression. Not thread-safe: one cell at a time (the kernel
 * serialises execute requests).
 *
 * <p>Memory: a redeclared variable's old wrapper class stays loaded, so its static field is cleared when the
 * declaration is overwritten; expression results ({@code $1}, {@code $2}, ...) beyond the last
 * {@link #KEPT_RESULTS} are dropped. Without this, a notebook that re-runs {@code var x = bigArray()} leaks.
 */
final class Evaluator implements AutoCloseable {
    static final int KEPT_RESULTS = 100;

    /** Imports every cell sees (JShell itself adds only a few java.* packages). */
    static final List<String> DEFAULT_IMPORTS = List.of(
            "java.util.*", "java.util.function.*", "java.util.stream.*", "java.nio.file.*", "java.io.*",
            "ctlab.lab.*", "ctlab.viz.*", "ctlab.analysis.*", "ctlab.critical.*", "ctlab.data.*", "ctlab.sample.*",
            "tech.tablesaw.api.*", "org.knowm.xchart.*");

    private static final Method CLASS_FULL_NAME = classFullNameAccessor();
    private static final java.util.regex.Pattern DISPLAY_CALL = java.util.regex.Pattern.compile("\\s*(ctlab\\.kernel\\.)?(Notebook\\.)?display\\s*\\(");

    private final CellExecutionControl control = new CellExecutionControl();
    private final JShell shell;
    private final SourceCodeAnalysis analysis;
    private final Set<String> classpath = new LinkedHashSet<>();
    private final Deque<VarSnippet> results = new ArrayDeque<>();
    /** Wrapper class of each variable snippet, recorded when it was defined. */
    private final Map<VarSnippet, String> wrapperOf = new WeakHashMap<>();

    /** A class path split into what JShell compiles against and the {@code *-sources.jar}s it reads Javadoc from. */
    record ClassAndSources(List<String> classpath, List<String> sources) {
        static ClassAndSources split(String classPath) {
            List<String> cp = new ArrayList<>(), src = new ArrayList<>();
            for (String e : classPath.split(File.pathSeparator)) {
                if (e.isBlank()) continue;
                // never compile against a sources jar: javac would compile its .java files when newer than the classes
                (e.endsWith("-sources.jar") ? src : cp).add(e);
            }
            return new ClassAndSources(cp, src);
        }
    }

    Evaluator(String classPath) {
        this.shell = JShell.builder()
                .executionEngine(new CellExecutionControl.Provider(control), java.util.Map.of())
                .compilerOptions("-proc:none")
                .build();
        ClassAndSources paths = ClassAndSources.split(classPath);
        // Through addToClasspath (not a --class-path option) so that %classpath can extend it later.
        if (!paths.classpath().isEmpty()) shell.addToClasspath(classPathOf(paths.classpath()));
        this.analysis = shell.sourceCodeAnalysis();
        addJavadocSources(analysis, paths.sources());
        StringBuilder imports = new StringBuilder();
        for (String p : DEFAULT_IMPORTS) imports.append("import ").append(p).append(";\n");
        imports.append("import static ctlab.kernel.Notebook.*;\n");
        eval(imports.toString());       // also warms up the compiler
        // One throw-away expression runs the execution path once and reveals the snippet class loader.
        shell.eval("0").forEach(e -> shell.drop(e.snippet()));
    }

    CellExecutionControl control() { return control; }

    /**
     * JShell reads Javadoc only from the JDK's src.zip; add our sources jars to the list it builds (a private
     * field of its implementation; needs {@code --add-opens jdk.jshell/jdk.jshell=ALL-UNNAMED}, which the
     * launcher passes). Without it, inspection shows signatures only.
     */
    @SuppressWarnings("unchecked")
    private static void addJavadocSources(SourceCodeAnalysis analysis, List<String> jars) {
        if (jars.isEmpty()) return;
        try {
            Method find = analysis.getClass().getDeclaredMethod("findSources");
            find.setAccessible(true);
            List<Path> sources = new ArrayList<>((List<Path>) find.invoke(analysis));
            for (String j : jars) sources.add(Path.of(j));
            Field f = analysis.getClass().getDeclaredField("availableSources");
            f.setAccessible(true);
            f.set(analysis, sources);
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("ctlab kernel: no Javadoc from " + jars + " (" + e + ")");
        }
    }

    /** A value, or {@link #NO_VALUE} when the last snippet was a declaration/statement/void call. */
    static final Object NO_VALUE = new Object() { @Override public String toString() { return "<no value>"; } };

    /** Evaluates plain Java (no magics); throws {@link CellError} on the first failing snippet. */
    Object eval(String code) {
        Object value = NO_VALUE;
        String rest = code;
        int offset = 0;
        while (true) {
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(rest);
            Completeness c = info.completeness();
            if (c == Completeness.EMPTY) break;
            if (!c.isComplete()) {
                if (c == Completeness.UNKNOWN) {
                    // JShell cannot even find a snippet boundary: let the compiler explain.
                    value = evalSnippet(rest, code, offset);
                    break;
                }
                List<String> tb = new ArrayList<>(List.of("IncompleteSource: " + firstLine(rest.strip())));
                String hint = pythonHint(rest, "");
                if (hint != null) tb.add(hint);
                throw new CellError("IncompleteSource", "the cell ends in the middle of a statement", tb);
            }
            int consumed = rest.length() - info.remaining().length();
            value = evalSnippet(info.source(), code, offset);
            offset += consumed;
            rest = info.remaining();
            if (Thread.currentThread().isInterrupted())
                throw CellError.of("Interrupted", "cell interrupted before it finished");
        }
        return value;
    }

    private Object evalSnippet(String source, String cell, int startInCell) {
        control.takeLastValue();
        List<SnippetEvent> events = shell.eval(source);
        Object value = NO_VALUE;
        CellError failure = null;
        for (SnippetEvent e : events) {
            Snippet s = e.snippet();
            if (e.causeSnippet() != null) {                    // an older snippet updated by this one
                if (e.status() == Snippet.Status.OVERWRITTEN) release(e.previousStatus(), s);
                else if (s instanceof VarSnippet v && e.status() == Snippet.Status.VALID) carryOver(v);
                continue;
            }
            if (e.status() == Snippet.Status.REJECTED) {
                failure = compileError(s, cell, startInCell);
                continue;
            }
            if (s instanceof VarSnippet v && e.status() == Snippet.Status.VALID) {
                String w = wrapperClass(v);
                if (w != null) wrapperOf.put(v, w);
            }
            JShellException ex = e.exception();
            if (ex != null) { failure = runtimeError(ex); continue; }
            if (e.status() == Snippet.Status.RECOVERABLE_NOT_DEFINED || e.status() == Snippet.Status.RECOVERABLE_DEFINED) {
                // e.g. a method using a not-yet-declared name: legal in JShell, tell the user why it can't run yet.
                if (s instanceof DeclarationSnippet d) {
                    String missing = shell.unresolvedDependencies(d).collect(Collectors.joining(", "));
                    if (!missing.isEmpty()) System.err.println("note: " + d.name() + " refers to undefined " + missing);
                }
            }
            switch (s.subKind()) {
                case TEMP_VAR_EXPRESSION_SUBKIND -> {
                    value = orNoValue(control.takeLastValue());
                    rememberResult((VarSnippet) s);
                    // display(x) shows x and returns its display id; as IPython's display() it has no Out
                    if (value instanceof String && isDisplayCall(source)) value = NO_VALUE;
                }
                case VAR_VALUE_SUBKIND, OTHER_EXPRESSION_SUBKIND -> value = orNoValue(control.takeLastValue());
                default -> { }
            }
        }
        if (failure != null) throw failure;
        return value;
    }

    /** Whether the snippet is just a {@code display(...)} call (not, say, {@code display(x) + "!"}). */
    static boolean isDisplayCall(String source) {
        java.util.regex.Matcher m = DISPLAY_CALL.matcher(source);
        if (!m.lookingAt()) return false;
        int depth = 1, i = m.end();
        char quote = 0;
        for (; i < source.length() && depth > 0; i++) {
            char c = source.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '"' || c == '\'') quote = c;
            else if (c == '(') depth++;
            else if (c == ')') depth--;
        }
        return depth == 0 && source.substring(i).matches("[\\s;]*");
    }

    private static Object orNoValue(Object v) { return v == null ? NO_VALUE : v; }

    private void rememberResult(VarSnippet s) {
        results.addLast(s);
        while (results.size() > KEPT_RESULTS) {
            VarSnippet old = results.removeFirst();
            clearStaticField(old);
            shell.drop(old);
        }
    }

    /**
     * A variable JShell recompiled because a later snippet changed what its declaration resolves against (an
     * import, a redefined type). JShell's own agent hot-swaps the wrapper class and keeps the value; in-process
     * execution cannot redefine classes, so the variable lives in a new wrapper whose field starts as null. Copy
     * the value over from the old wrapper (when the field type still accepts it).
     */
    private void carryOver(VarSnippet v) {
        String oldWrapper = wrapperOf.get(v), newWrapper = wrapperClass(v);
        if (oldWrapper == null || newWrapper == null || oldWrapper.equals(newWrapper)) return;
        try {
            Field from = control.findClassForKernel(oldWrapper).getDeclaredField(v.name());
            Field to = control.findClassForKernel(newWrapper).getDeclaredField(v.name());
            if (!Modifier.isStatic(from.getModifiers()) || !Modifier.isStatic(to.getModifiers()) || Modifier.isFinal(to.getModifiers())) return;
            from.setAccessible(true);
            to.setAccessible(true);
            Object value = from.get(null);
            if (to.getType().isPrimitive() ? from.getType() == to.getType() : value == null || to.getType().isInstance(value)) {
                to.set(null, value);
                if (!from.getType().isPrimitive()) from.set(null, null);   // the old wrapper no longer holds it
            }
            wrapperOf.put(v, newWrapper);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError ignored) {
            // best effort: the variable stays null as JShell left it
        }
    }

    private void release(Snippet.Status previous, Snippet s) {
        if (s instanceof VarSnippet v && previous != null && previous.isActive()) clearStaticField(v);
    }

    private static String wrapperClass(VarSnippet v) {
        if (CLASS_FULL_NAME == null) return null;
        try {
            return (String) CLASS_FULL_NAME.invoke(v);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Nulls the static field that held a replaced/dropped variable in its JShell wrapper class, so its value can
     * be collected. Uses the wrapper recorded when the variable was defined, and never touches a wrapper that
     * an active variable of that name still uses.
     */
    private void clearStaticField(VarSnippet v) {
        String wrapper = wrapperOf.remove(v);
        if (wrapper == null) return;
        boolean stillUsed = shell.variables()
                .anyMatch(a -> a != v && a.name().equals(v.name()) && wrapper.equals(wrapperClass(a)));
        if (stillUsed) return;
        try {
            Class<?> k = control.findClassForKernel(wrapper);
            Field f = k.getDeclaredField(v.name());
            if (Modifier.isStatic(f.getModifiers()) && !f.getType().isPrimitive() && !Modifier.isFinal(f.getModifiers())) {
                f.setAccessible(true);
                f.set(null, null);
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError ignored) {
            // best effort: the value stays reachable, nothing breaks
        }
    }

    private static Method classFullNameAccessor() {
        try {
            Method m = Snippet.class.getDeclaredMethod("classFullName");
            m.setAccessible(true);          // needs --add-opens jdk.jshell/jdk.jshell=ALL-UNNAMED (the launcher adds it)
            return m;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** {@code restStart}: where the text this snippet was cut from starts in the cell. */
    private CellError compileError(Snippet s, String cell, int restStart) {
        List<Diag> diags = shell.diagnostics(s).filter(Diag::isError).collect(Collectors.toList());
        if (diags.isEmpty()) diags = shell.diagnostics(s).collect(Collectors.toList());
        List<String> tb = new ArrayList<>();
        String src = s.source();
        // Align the snippet source with the cell text (JShell may trim it or add a ';').
        String core = src.strip();
        int coreInSrc = src.indexOf(core);
        int coreInCell = cell.indexOf(core.isEmpty() ? "" : core.substring(0, Math.min(core.length(), 40)), restStart);
        for (Diag d : diags) {
            int pos = (int) Math.min(Math.max(0, d.getStartPosition()), src.length());
            int lineStart = src.lastIndexOf('\n', pos - 1) + 1;
            int lineEnd = src.indexOf('\n', lineStart);
            String line = src.substring(lineStart, lineEnd < 0 ? src.length() : lineEnd);
            int col = pos - lineStart;
            int cellLine = coreInCell < 0 ? lineOf(cell, restStart) + lineOf(src, pos) + 1
                                          : lineOf(cell, coreInCell + Math.max(0, pos - coreInSrc)) + 1;
            tb.add("line " + cellLine + ": " + oneLine(d.getMessage(Locale.ROOT)));
            tb.add("    " + line);
            tb.add("    " + " ".repeat(Math.max(0, col)) + "^");
        }
        String first = diags.isEmpty() ? "rejected: " + firstLine(src) : oneLine(diags.get(0).getMessage(Locale.ROOT));
        if (tb.isEmpty()) tb.add(first);
        String hint = pythonHint(src, first);
        if (hint != null) tb.add(hint);
        return new CellError("CompilationError", first, tb);
    }

    /**
     * javac's message on one line: "cannot find symbol: variable x" instead of three lines whose
     * "location: class " names JShell's hidden wrapper class (as an empty name). A real location is kept.
     */
    static String oneLine(String message) {
        String[] lines = message.split("\\R");
        StringBuilder sb = new StringBuilder(lines[0].strip());
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i].strip();
            if (l.startsWith("symbol:")) sb.append(": ").append(l.substring("symbol:".length()).strip());
            else if (l.startsWith("location:")) {
                String where = l.substring("location:".length()).strip();
                if (!where.isEmpty() && !where.equals("class")) sb.append(" (location: ").append(where).append(')');
            } else if (!l.isEmpty()) sb.append("; ").append(l);
        }
        return sb.toString();
    }

    /** A hint for a few Python habits (cheap to spot, common in notebooks), or null. */
    static String pythonHint(String source, String message) {
        String src = source.strip();
        if (src.matches("(?s)(.*\\n)?\\s*def\\s+\\w+\\s*\\(.*"))
            return "hint: Java declares a method with its types and braces, e.g. int f(int x) { return x + 1; }";
        if (message.contains("cannot find symbol") && src.matches("(?s)(.*[^\\w.])?(print|println)\\s*\\(.*"))
            return "hint: Java prints with System.out.println(...)";
        if (message.contains("cannot find symbol") && message.matches(".*variable (True|False|None)\\b.*"))
            return "hint: Java writes true, false and null in lower case";
        return null;
    }

    private CellError runtimeError(JShellException ex) {
        if (ex instanceof UnresolvedReferenceException u) {
            String missing = shell.unresolvedDependencies(u.getSnippet()).collect(Collectors.joining(", "));
            return CellError.of("UnresolvedReference", u.getSnippet().name() + " cannot run until " + missing + " is defined");
        }
        String cls = ex instanceof EvalException ee ? ee.getExceptionClassName() : ex.getClass().getName();
        if ("java.lang.ThreadDeath".equals(cls))
            return CellError.of("Interrupted", "cell stopped by interrupt");
        if (ExitGuard.Refused.class.getName().equals(cls)) return CellError.of("SystemExit", ex.getMessage());
        List<String> tb = new ArrayList<>();
        Throwable t = ex;
        String prefix = "";
        while (t != null) {
            String name = t instanceof EvalException e ? e.getExceptionClassName() : t.getClass().getName();
            tb.add(prefix + name + (t.getMessage() == null ? "" : ": " + t.getMessage()));
            for (StackTraceElement el : t.getStackTrace()) {
                String c = el.getClassName();
                if (c.startsWith("jdk.internal.reflect.") || c.startsWith("java.lang.reflect.Method")) break;
                String file = el.getFileName();
                tb.add("\tat " + (file != null && file.startsWith("#")
                        ? "cell (snippet " + file + ", line " + el.getLineNumber() + ")" : el.toString()));
            }
            t = t.getCause();
            prefix = "Caused by: ";
        }
        return new CellError(simpleName(cls), ex.getMessage() == null ? "" : ex.getMessage(), tb);
    }

    // ---- classpath, completion, inspection ------------------------------------------------------------

    /** Adds jars/folders once; returns the ones that were new. Re-running the same %classpath adds nothing. */
    List<String> addToClasspath(List<Path> entries) {
        List<String> added = new ArrayList<>();
        for (Path p : entries) {
            Path abs = p.toAbsolutePath().normalize();
            if (!Files.exists(abs)) throw CellError.of("ClasspathError", "no such file or folder: " + abs);
            String key = abs.toString();
            if (classpath.add(key)) {
                shell.addToClasspath(key);
                added.add(key);
            }
        }
        return added;
    }

    Set<String> addedClasspath() { return Set.copyOf(classpath); }

    /** Start offset of the snippet that contains {@code cursor} (JShell analyses one snippet at a time). */
    int snippetStart(String code, int cursor) {
        int offset = 0;
        while (offset < code.length()) {
            String rest = code.substring(offset);
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(rest);
            if (!info.completeness().isComplete()) break;
            int consumed = rest.length() - info.remaining().length();
            if (consumed <= 0 || offset + consumed >= cursor) break;
            offset += consumed;
        }
        return offset;
    }

    record Completion(List<String> options, int start, int end) {}

    Completion complete(String code, int cursor) {
        int start = snippetStart(code, cursor);
        String snippet = code.substring(start, cursor);
        int[] anchor = new int[1];
        List<SourceCodeAnalysis.Suggestion> suggestions = analysis.completionSuggestions(snippet, snippet.length(), anchor);
        LinkedHashSet<String> options = new LinkedHashSet<>();
        suggestions.stream().filter(SourceCodeAnalysis.Suggestion::matchesType).forEach(s -> options.add(s.continuation()));
        suggestions.forEach(s -> options.add(s.continuation()));
        return new Completion(new ArrayList<>(options), start + anchor[0], cursor);
    }

    /**
     * Signatures (and Javadoc where the JDK/jar sources are available) of what is at the cursor: inside a call's
     * parentheses, or on a name (a type, or a method: all its overloads), the cursor anywhere in the name.
     */
    List<SourceCodeAnalysis.Documentation> documentation(String code, int cursor, boolean javadoc) {
        int end = cursor;
        while (end < code.length() && Character.isJavaIdentifierPart(code.charAt(end))) end++;
        int start = snippetStart(code, end);
        String snippet = code.substring(start, end);
        List<SourceCodeAnalysis.Documentation> docs = analysis.documentation(snippet, snippet.length(), javadoc);
        if (docs.isEmpty() && !snippet.isEmpty() && Character.isJavaIdentifierPart(snippet.charAt(snippet.length() - 1))) {
            // JShell documents a method only at its '(' (a type also by name): ask as if the call were opened
            docs = analysis.documentation(snippet + "(", snippet.length() + 1, javadoc);
        }
        return docs;
    }

    /** Jupyter is_complete: "complete", "invalid", or the indent for the next line when more is expected. */
    String isComplete(String code) {
        String rest = code;
        while (true) {
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(rest);
            switch (info.completeness()) {
                case COMPLETE, COMPLETE_WITH_SEMI -> rest = info.remaining();
                case EMPTY -> { return "complete"; }
                case UNKNOWN -> { return "invalid"; }
                default -> { return nextIndent(rest); }
            }
        }
    }

    private static String nextIndent(String partial) {
        String last = partial.substring(partial.lastIndexOf('\n') + 1);
        String indent = last.substring(0, last.length() - last.stripLeading().length());
        long open = last.chars().filter(ch -> ch == '{' || ch == '(').count();
        long close = last.chars().filter(ch -> ch == '}' || ch == ')').count();
        return open > close ? indent + "    " : indent;
    }

    @Override public void close() { shell.close(); }

    // ---- small helpers -------------------------------------------------------------------------------

    static String simpleName(String className) { return className.substring(className.lastIndexOf('.') + 1); }

    private static int lineOf(String s, int pos) {
        int n = 1;
        for (int i = 0; i < Math.min(pos, s.length()); i++) if (s.charAt(i) == '\n') n++;
        return n - 1;
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl) + " ...";
    }

    static String classPathOf(List<String> entries) { return String.join(File.pathSeparator, entries); }
}

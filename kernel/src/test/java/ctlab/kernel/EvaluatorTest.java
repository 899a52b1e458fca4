package ctlab.kernel;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** JShell evaluation in-process (the Jupyter protocol side is covered by kernel/test/test_kernel.py). */
class EvaluatorTest {
    static Evaluator ev;

    @BeforeAll static void start() { ev = new Evaluator(System.getProperty("java.class.path")); }

    @AfterAll static void stop() { ev.close(); }

    @Test void trailingExpressionIsTheValueAndDeclarationsHaveNone() {
        assertEquals(42, ev.eval("int a = 40;\nint b = 2;\na + b"));
        assertSame(Evaluator.NO_VALUE, ev.eval("int c = 1;"));
        assertSame(Evaluator.NO_VALUE, ev.eval("System.out.print(\"\")"), "void call");
        assertEquals("x", ev.eval("\"x\""));
    }

    @Test void valuesAreTheObjectsNotStrings() {
        Object list = ev.eval("new java.util.ArrayList<>(List.of(1, 2))");
        assertEquals(List.of(1, 2), list);
        assertInstanceOf(java.util.ArrayList.class, list);
    }

    @Test void methodsAndTypesPersistAcrossEvaluations() {
        ev.eval("int twice(int x) { return 2 * x; }");
        assertEquals(14, ev.eval("twice(7)"));
        ev.eval("record P(int x) {}");
        assertEquals(3, ev.eval("new P(3).x()"));
    }

    @Test void anImportAfterAVariableKeepsItsValue() {
        // an import makes JShell recompile earlier declarations; that update must not be taken for a redeclaration
        ev.eval("var keptList = new ArrayList<>(List.of(1, 2));");
        ev.eval("var keptBuilder = new StringBuilder(\"abc\");");
        ev.eval("var keptTask = ctlab.lab.Lab.task(\"gsm8k\");");
        ev.eval("import java.util.concurrent.*;");
        ev.eval("import ctlab.sample.*;\nimport ctlab.task.*;\nvar sameTask = keptTask;");
        assertNotNull(ev.eval("keptTask"));
        assertEquals(List.of(1, 2), ev.eval("keptList"));
        assertEquals("abc", ev.eval("keptBuilder").toString());
        ev.eval("var keptList = new ArrayList<>(List.of(3));");   // a real redeclaration still replaces it
        assertEquals(List.of(3), ev.eval("keptList"));
    }

    @Test void compileErrorNamesTheCellLine() {
        CellError e = assertThrows(CellError.class, () -> ev.eval("int ok1 = 1;\n\nint bad = \"s\";"));
        assertEquals("CompilationError", e.ename);
        assertTrue(e.evalue.contains("incompatible types"), e.evalue);
        assertTrue(e.traceback.get(0).startsWith("line 3:"), e.traceback.toString());
        assertEquals(1, ev.eval("ok1"), "snippets before the failing one ran");
    }

    @Test void unknownSymbolIsOneClearLineWithoutJShellsHiddenClass() {
        CellError e = assertThrows(CellError.class, () -> ev.eval("int k = 1;\nint m = undefinedThing + k;"));
        assertEquals("cannot find symbol: variable undefinedThing", e.evalue);
        assertEquals("line 2: cannot find symbol: variable undefinedThing", e.traceback.get(0));
        assertTrue(e.traceback.stream().noneMatch(l -> l.contains("location: class")), e.traceback.toString());
        assertEquals(1, e.traceback.stream().filter(l -> l.contains("symbol")).count(), "said once: " + e.traceback);
    }

    @Test void pythonHabitsGetAHint() {
        CellError print = assertThrows(CellError.class, () -> ev.eval("print(\"hi\")"));
        assertTrue(print.traceback.get(print.traceback.size() - 1).contains("System.out.println"), print.traceback.toString());
        CellError def = assertThrows(CellError.class, () -> ev.eval("def f(x):\n    return x"));
        assertTrue(String.join("\n", def.traceback).contains("hint: Java declares a method with its types"), def.traceback.toString());
        CellError none = assertThrows(CellError.class, () -> ev.eval("int q2 = \"s\";"));
        assertTrue(none.traceback.stream().noneMatch(l -> l.startsWith("hint:")), "no hint for ordinary errors");
    }

    @Test void runtimeExceptionKeepsItsClassAndMessage() {
        CellError e = assertThrows(CellError.class, () -> ev.eval("throw new IllegalArgumentException(\"nope\")"));
        assertEquals("IllegalArgumentException", e.ename);
        assertEquals("nope", e.evalue);
        assertTrue(e.traceback.get(0).startsWith("java.lang.IllegalArgumentException: nope"));
    }

    @Test void incompleteCellIsAnError() {
        CellError e = assertThrows(CellError.class, () -> ev.eval("int q = 1;\nfor (int i = 0; i < 2; i++) {"));
        assertEquals("IncompleteSource", e.ename);
    }

    @Test void isCompleteFollowsJShellAnalysis() {
        assertEquals("complete", ev.isComplete("int x = 1;\nx + 1"));
        assertEquals("    ", ev.isComplete("if (true) {"));
        assertEquals("complete", ev.isComplete(""));
    }

    @Test void completionFindsMembersInTheSnippetAtTheCursor() {
        ev.eval("String word = \"abc\";");
        String code = "int z = 0;\nword.toLowerC";
        Evaluator.Completion c = ev.complete(code, code.length());
        assertTrue(c.options().stream().anyMatch(o -> o.startsWith("toLowerCase(")), c.options().toString());
        assertEquals("toLowerC", code.substring(c.start(), c.end()));
    }

    @Test void sameClasspathEntryIsAddedOnce(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        assertEquals(1, ev.addToClasspath(List.of(dir)).size());
        assertEquals(0, ev.addToClasspath(List.of(dir.resolve("."))).size(), "normalised duplicates are skipped");
        assertThrows(CellError.class, () -> ev.addToClasspath(List.of(dir.resolve("missing.jar"))));
    }

    @Test void inspectionAnswersOnABareNameAnywhereInIt() {
        String code = "int y = 1;\nAnalyses.passAtK";        // ctlab.analysis is imported by default
        for (int cursor : new int[]{code.length(), code.length() - 3}) {
            List<String> sigs = ev.documentation(code, cursor, false).stream().map(d -> d.signature()).toList();
            assertTrue(sigs.stream().anyMatch(s -> s.contains("passAtK(")), cursor + ": " + sigs);
        }
        assertFalse(ev.documentation("Sampler", 7, false).isEmpty(), "a type name (ctlab.sample) is documented");
        assertFalse(ev.documentation("RolloutProbe", 3, false).isEmpty(), "ctlab.critical is imported");
        String call = "\"abc\".substring(";
        assertTrue(ev.documentation(call, call.length(), false).stream().anyMatch(d -> d.signature().contains("substring(int")));
    }

    @Test void sourcesJarsAreNotCompiledAgainst() {
        Evaluator.ClassAndSources p = Evaluator.ClassAndSources.split(String.join(java.io.File.pathSeparator, "a.jar", "lib/x-1.0-sources.jar", "b"));
        assertEquals(List.of("a.jar", "b"), p.classpath());
        assertEquals(List.of("lib/x-1.0-sources.jar"), p.sources());
    }

    @Test void onlyABareDisplayCallHidesItsValue() {
        assertTrue(Evaluator.isDisplayCall("display(chart, \"image/svg+xml\")"));
        assertTrue(Evaluator.isDisplayCall("  Notebook.display(f(\")\", g(1)));"));
        assertFalse(Evaluator.isDisplayCall("display(x) + \"!\""));
        assertFalse(Evaluator.isDisplayCall("displayAll(x)"));
        assertFalse(Evaluator.isDisplayCall("id"));
    }
}

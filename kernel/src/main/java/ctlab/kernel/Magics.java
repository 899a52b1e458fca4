package ctlab.kernel;

import ctlab.CtlabException;
import ctlab.lab.Lab;
import org.dflib.jjava.jupyter.kernel.magic.MagicsRegistry;
import org.dflib.jjava.jupyter.kernel.magic.UndefinedMagicException;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves magics in a cell and runs the cell (the base library's execute handler does not apply them).
 * A cell is either a cell magic ({@code %%time} on its first line) or Java with line magics on lines of
 * their own ({@code %classpath}, {@code %maven}, {@code %time}, {@code %load}, {@code %device}, {@code %lsmagic}), run in order.
 */
final class Magics {
    static final List<String> LINE = List.of("classpath", "maven", "time", "load", "device", "lsmagic");
    static final List<String> CELL = List.of("time");

    private static final Pattern LINE_MAGIC = Pattern.compile("^[ \\t]*%(\\w+)[ \\t]*(.*?)[ \\t]*$");
    private static final Pattern CELL_MAGIC = Pattern.compile("^\\s*%%(\\w+)[ \\t]*(.*?)[ \\t]*(?:\\R|$)");

    private final CtlabKernel kernel;

    Magics(CtlabKernel kernel) { this.kernel = kernel; }

    /** Registers the built-ins by name so %lsmagic and extensions see one registry. */
    void registerIn(MagicsRegistry registry) {
        registry.registerLineMagic("classpath", (k, args) -> classpath(args));
        registry.registerLineMagic("maven", (k, args) -> maven(args));
        registry.registerLineMagic("time", (k, args) -> time(String.join(" ", args)));
        registry.registerLineMagic("load", (k, args) -> load(args));
        registry.registerLineMagic("device", (k, args) -> device(args));
        registry.registerLineMagic("lsmagic", (k, args) -> lsmagic());
        registry.registerCellMagic("time", (k, args, body) -> time(body));
    }

    /** Runs a whole cell; returns the value to display or {@link Evaluator#NO_VALUE}. */
    Object runCell(String code) {
        Matcher cell = CELL_MAGIC.matcher(code);
        if (cell.find()) {
            String name = cell.group(1);
            String body = code.substring(cell.end());
            if (name.equals("time")) return time(body);
            try {
                return orNoValue(kernel.getMagicsRegistry().evalCellMagic(kernel, name, split(cell.group(2)), body));
            } catch (UndefinedMagicException e) {
                throw CellError.of("UnknownMagic", "%%" + name + " is not a cell magic; see %lsmagic");
            } catch (CellError | CtlabException e) {
                throw e;
            } catch (Exception e) {
                throw CellError.of(Evaluator.simpleName(e.getClass().getName()), e.getMessage());
            }
        }
        Object value = Evaluator.NO_VALUE;
        StringBuilder java = new StringBuilder();
        String[] lines = code.split("\\R", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            Matcher m = LINE_MAGIC.matcher(line);
            if (m.matches() && !line.stripLeading().startsWith("%%")) {
                if (!java.toString().isBlank()) value = kernel.evaluator().eval(java.toString());
                java.setLength(0);
                java.append("\n".repeat(i + 1));     // blank lines keep error line numbers equal to the cell's
                value = runLineMagic(m.group(1), m.group(2));
            } else {
                java.append(line).append('\n');
            }
        }
        if (!java.toString().isBlank()) value = kernel.evaluator().eval(java.toString());
        return value;
    }

    private Object runLineMagic(String name, String rawArgs) {
        if (name.equals("time")) return time(rawArgs);      // raw: the rest of the line is Java
        try {
            return orNoValue(kernel.getMagicsRegistry().evalLineMagic(kernel, name, split(rawArgs)));
        } catch (UndefinedMagicException e) {
            throw CellError.of("UnknownMagic", "%" + name + " is not a line magic; see %lsmagic");
        } catch (CellError | CtlabException e) {
            throw e;
        } catch (Exception e) {
            throw CellError.of(Evaluator.simpleName(e.getClass().getName()), e.getMessage());
        }
    }

    private static Object orNoValue(Object v) { return v == null ? Evaluator.NO_VALUE : v; }

    // ---- the magics --------------------------------------------------------------------------------------

    /** {@code %classpath a.jar lib/*.jar classes/}: adds each entry once (re-running adds nothing). */
    Object classpath(List<String> args) {
        if (args.isEmpty()) {
            System.out.println(String.join("\n", new TreeSet<>(kernel.evaluator().addedClasspath())));
            return Evaluator.NO_VALUE;
        }
        List<Path> paths = new ArrayList<>();
        for (String a : args) paths.addAll(expand(a));
        List<String> added = kernel.evaluator().addToClasspath(paths);
        System.out.println(added.isEmpty() ? "classpath unchanged (already added)" : "added to classpath: " + String.join(", ", added));
        return Evaluator.NO_VALUE;
    }

    /** {@code %maven group:artifact:version ...}: resolves each with its runtime dependencies onto the classpath. */
    Object maven(List<String> args) {
        if (args.isEmpty()) throw CellError.of("UsageError", "usage: %maven group:artifact:version ...");
        args.forEach(MavenResolver::parse);              // all coordinates checked before anything is fetched
        List<Path> jars = new ArrayList<>();
        for (String a : args) jars.addAll(MavenResolver.resolve(a));
        List<String> added = kernel.evaluator().addToClasspath(jars);
        System.out.println(added.isEmpty() ? "classpath unchanged (already added)" : "added to classpath: " + String.join(", ", added));
        return Evaluator.NO_VALUE;
    }

    /** A path, or a glob in its last component ({@code lib/*.jar}). */
    static List<Path> expand(String arg) {
        Path p = Path.of(arg.startsWith("~/") ? System.getProperty("user.home") + arg.substring(1) : arg);
        String last = p.getFileName() == null ? "" : p.getFileName().toString();
        if (!last.contains("*") && !last.contains("?")) return List.of(p);
        Path dir = p.getParent() == null ? Path.of(".") : p.getParent();
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, last)) {
            ds.forEach(out::add);
        } catch (IOException e) {
            throw CellError.of("ClasspathError", "cannot list " + dir + ": " + e.getMessage());
        }
        if (out.isEmpty()) throw CellError.of("ClasspathError", "nothing matches " + arg);
        out.sort(null);
        return out;
    }

    /** {@code %time expr} / {@code %%time}: runs the code and prints the wall time; keeps its value. */
    Object time(String code) {
        long t0 = System.nanoTime();
        try {
            return runCell(code);
        } finally {
            double ms = (System.nanoTime() - t0) / 1e6;
            System.out.println(ms < 1000 ? String.format(Locale.ROOT, "Wall time: %.1f ms", ms)
                                         : String.format(Locale.ROOT, "Wall time: %.2f s", ms / 1000));
        }
    }

    /** {@code %load FILE}: runs a file of Java snippets (magics allowed) as if it were the cell. */
    Object load(List<String> args) {
        if (args.size() != 1) throw CellError.of("UsageError", "usage: %load FILE");
        Path file = Path.of(args.get(0));
        String code;
        try {
            code = Files.readString(file);
        } catch (IOException e) {
            throw CellError.of("LoadError", "cannot read " + file.toAbsolutePath() + ": " + e.getMessage());
        }
        return runCell(code);
    }

    /** {@code %device} shows the toolkit's device; {@code %device cpu|gpu|gpu:N|auto} selects it. */
    Object device(List<String> args) {
        if (args.size() > 1) throw CellError.of("UsageError", "usage: %device [auto|cpu|gpu|gpu:N]");
        if (args.size() == 1) {
            try {
                Lab.setDevice(args.get(0));
            } catch (CtlabException e) {
                throw CellError.of("UsageError", e.getMessage());
            }
        }
        return "device: " + Lab.device();
    }

    Object lsmagic() {
        return "line magics: %" + String.join("  %", new TreeSet<>(kernel.getMagicsRegistry().getLineMagicNames()))
                + "\ncell magics: %%" + String.join("  %%", new TreeSet<>(kernel.getMagicsRegistry().getCellMagicNames()));
    }

    /** Splits magic arguments on blanks; double quotes group, backslash escapes. */
    static List<String> split(String raw) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false, any = false;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '\\' && i + 1 < raw.length()) { cur.append(raw.charAt(++i)); any = true; }
            else if (c == '"') { quoted = !quoted; any = true; }
            else if (Character.isWhitespace(c) && !quoted) {
                if (any) out.add(cur.toString());
                cur.setLength(0);
                any = false;
            } else { cur.append(c); any = true; }
        }
        if (any) out.add(cur.toString());
        return out;
    }
}

package ctlab.kernel;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;

import java.util.UUID;

/**
 * Display helpers every notebook cell can call unqualified (the kernel adds
 * {@code import static ctlab.kernel.Notebook.*}): {@code display(table)}, {@code display(chart, "image/svg+xml")},
 * {@code String id = display(x); ... updateDisplay(id, y)}, {@code html("<b>hi</b>")}, {@code markdown("# Title")}.
 */
public final class Notebook {
    private Notebook() {}

    /** Shows {@code value} with the kernel's renderers; returns its display id for {@link #updateDisplay}. */
    public static String display(Object value) {
        DisplayData data = value instanceof DisplayData d ? d : kernel().getRenderer().render(value);
        return publish(data);
    }

    /** Shows {@code value} as the given MIME types, e.g. {@code "image/svg+xml"} for a chart. */
    public static String display(Object value, String... mimeTypes) {
        return publish(kernel().getRenderer().renderAs(value, mimeTypes));
    }

    /** Replaces the output shown under {@code displayId} in place. */
    public static void updateDisplay(String displayId, Object value) {
        DisplayData data = value instanceof DisplayData d ? d : kernel().getRenderer().render(value);
        kernel().getIO().display.updateDisplay(displayId, data);
    }

    /** Rendered output without showing it (e.g. to inspect the MIME bundle). */
    public static DisplayData render(Object value, String... mimeTypes) {
        return mimeTypes.length == 0 ? kernel().getRenderer().render(value) : kernel().getRenderer().renderAs(value, mimeTypes);
    }

    public static DisplayData html(String html) {
        DisplayData d = new DisplayData();
        d.putHTML(html);
        d.putText("[html]");
        return d;
    }

    public static DisplayData markdown(String markdown) {
        DisplayData d = new DisplayData(markdown);
        d.putMarkdown(markdown);
        return d;
    }

    private static String publish(DisplayData data) {
        String id = data.getDisplayId();
        if (id == null) {
            id = UUID.randomUUID().toString();
            data.setDisplayId(id);
        }
        kernel().display(data);
        return id;
    }

    private static BaseKernel kernel() { return BaseKernel.notebookKernel(); }
}

package ctlab.kernel;

import ctlab.io.Progress;
import org.dflib.jjava.jupyter.kernel.DisplayStream;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;

import java.util.Map;
import java.util.UUID;
import java.util.WeakHashMap;

/**
 * Shows toolkit progress as one notebook output per bar that is updated in place (Jupyter
 * {@code update_display_data} with a {@code display_id}), not carriage returns. Updates are throttled to
 * a few per second; the final state is always sent.
 */
final class NotebookProgress implements Progress.Sink {
    static final long MIN_INTERVAL_NANOS = 200_000_000L;

    private record Shown(String id, long lastNanos) {}

    private final DisplayStream display;
    private final Map<Progress, Shown> shown = new WeakHashMap<>();

    NotebookProgress(DisplayStream display) { this.display = display; }

    @Override
    public synchronized void update(Progress p) {
        long now = System.nanoTime();
        Shown s = shown.get(p);
        if (s == null) {
            String id = "ctlab-progress-" + UUID.randomUUID();
            shown.put(p, new Shown(id, now));
            DisplayData d = bundle(p);
            d.setDisplayId(id);
            display.display(d);
        } else if (now - s.lastNanos >= MIN_INTERVAL_NANOS) {
            shown.put(p, new Shown(s.id, now));
            display.updateDisplay(s.id, bundle(p));
        }
    }

    @Override
    public synchronized void finish(Progress p) {
        Shown s = shown.remove(p);
        if (s == null) {
            DisplayData d = bundle(p);
            d.setDisplayId("ctlab-progress-" + UUID.randomUUID());
            display.display(d);
        } else {
            display.updateDisplay(s.id, bundle(p));
        }
    }

    static DisplayData bundle(Progress p) {
        String text = p.render();
        DisplayData d = new DisplayData(text);
        StringBuilder html = new StringBuilder("<div style=\"font-family:ui-monospace,monospace;font-size:12px\">");
        if (p.total() > 0) {
            html.append("<progress value=\"").append(Math.min(p.done(), p.total())).append("\" max=\"").append(p.total())
                .append("\" style=\"width:18em;vertical-align:middle\"></progress> ");
        }
        html.append(escape(text)).append("</div>");
        d.putHTML(html.toString());
        return d;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}

package ctlab.io;

import java.util.Locale;
import java.util.Objects;

/**
 * Progress of long work (sampling, training, scoring). Stages call {@link #start}; where the updates go is
 * a pluggable {@link Sink}: the console bar with ETA by default, a live-updating display in the notebook
 * kernel. Long loops should also check {@link Thread#interrupted()} at step boundaries.
 */
public final class Progress implements AutoCloseable {
    /** Receives progress updates; must be cheap and thread-safe. */
    public interface Sink {
        void update(Progress p);
        void finish(Progress p);
    }

    private static volatile Sink sink = new ConsoleSink();

    public static void setSink(Sink s) { sink = Objects.requireNonNull(s); }
    public static Sink sink() { return sink; }

    private final String label;
    private final long total;
    private final long startNanos = System.nanoTime();
    private volatile long done;
    private volatile String detail = "";
    private final Sink target = sink;

    private Progress(String label, long total) { this.label = label; this.total = total; }

    /** Starts a bar for {@code total} units of work (total ≤ 0: unknown). */
    public static Progress start(String label, long total) {
        Progress p = new Progress(label, total);
        p.target.update(p);
        return p;
    }

    /** Sets the absolute count done and a short detail such as {@code "loss 1.23  412 tok/s"}. */
    public void set(long done, String detail) {
        this.done = done;
        this.detail = detail == null ? "" : detail;
        target.update(this);
    }

    public void step(String detail) { set(done + 1, detail); }

    public String label() { return label; }
    public long total() { return total; }
    public long done() { return done; }
    public String detail() { return detail; }
    public double elapsedSeconds() { return (System.nanoTime() - startNanos) / 1e9; }

    /** Estimated seconds left, or NaN when unknown. */
    public double etaSeconds() {
        if (total <= 0 || done <= 0) return Double.NaN;
        return elapsedSeconds() / done * (total - done);
    }

    /** One-line rendering used by every sink: {@code label [####....] 12/40 30% 0:12<0:28 detail}. */
    public String render() {
        StringBuilder sb = new StringBuilder(label).append(' ');
        if (total > 0) {
            int width = 24;
            int filled = (int) Math.min(width, Math.round(width * (double) done / total));
            sb.append('[').append("#".repeat(filled)).append(".".repeat(width - filled)).append("] ");
            sb.append(done).append('/').append(total)
              .append(String.format(Locale.ROOT, " %3.0f%% ", 100.0 * done / total));
        } else {
            sb.append(done).append(' ');
        }
        sb.append(clock(elapsedSeconds()));
        double eta = etaSeconds();
        if (!Double.isNaN(eta)) sb.append('<').append(clock(eta));
        if (!detail.isEmpty()) sb.append("  ").append(detail);
        return sb.toString();
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    @Override public void close() { target.finish(this); }

    /** Console bar on stderr: redraws in place on a terminal, prints a line every 10 s otherwise. */
    public static final class ConsoleSink implements Sink {
        private final boolean tty = System.console() != null;
        private long lastPrint;

        @Override public synchronized void update(Progress p) {
            long now = System.nanoTime();
            if (tty) {
                if (now - lastPrint < 100_000_000L) return;
                System.err.print("\r" + p.render() + "\u001b[K");
            } else {
                if (lastPrint != 0 && now - lastPrint < 10_000_000_000L) return;
                System.err.println(p.render());
            }
            lastPrint = now;
        }

        @Override public synchronized void finish(Progress p) {
            System.err.println((tty ? "\r" : "") + p.render() + (tty ? "\u001b[K" : ""));
            lastPrint = 0;
        }
    }
}

package ctlab.kernel;

import org.dflib.jjava.jupyter.channels.ShellReplyEnvironment;
import org.dflib.jjava.jupyter.kernel.DisplayStream;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.messages.publish.PublishStream;
import org.dflib.jjava.jupyter.messages.publish.PublishStream.StreamType;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * A cell's stdout and stderr, sent as few {@code stream} messages: text is collected and sent when it reaches
 * {@link #MAX_BYTES}, when it has waited {@link #MAX_DELAY_NANOS} ({@link #sendIfDue}, called by the shell thread
 * while the cell runs), before anything else is published, and at the end of the cell. One message per printed line
 * made 200k lines take minutes.
 *
 * <p>Order: there is one pending buffer for both streams; a write to the other stream, a display and the cell's
 * result/error first send what is pending. Every publish on the cell's behalf goes through {@link #lock}, so the
 * shell thread's timed sends never interleave with the cell thread's on the (not thread-safe) iopub socket.
 * {@code flush()} on the streams sends nothing by itself (print-and-flush loops would be one message per line
 * again); the timer sends it within {@link #MAX_DELAY_NANOS}.
 */
final class CellOutput {
    static final int MAX_BYTES = 64 * 1024;
    static final long MAX_DELAY_NANOS = 100_000_000L;

    private final Object lock = new Object();
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();   // guarded by lock
    private StreamType pendingType;        // guarded by lock
    private long pendingSince;             // nanoTime of the oldest pending byte, guarded by lock
    private ShellReplyEnvironment env;     // the running request's; null between cells (output is dropped)

    final PrintStream out = new PrintStream(new Sink(StreamType.OUT), false, StandardCharsets.UTF_8);
    final PrintStream err = new PrintStream(new Sink(StreamType.ERR), false, StandardCharsets.UTF_8);

    void attach(ShellReplyEnvironment env) {
        synchronized (lock) { this.env = env; }
    }

    /** Sends what is pending and stops sending (later output, e.g. from a thread the cell left running, is dropped). */
    void detach() {
        synchronized (lock) {
            sendPending();
            env = null;
        }
    }

    /** Sends what is pending, then runs {@code publish} (a display, the cell's result or error) in order. */
    void publish(Runnable publish) {
        synchronized (lock) {
            sendPending();
            publish.run();
        }
    }

    /** Sends the pending text if it has waited long enough. */
    void sendIfDue() {
        synchronized (lock) {
            if (pending.size() > 0 && System.nanoTime() - pendingSince >= MAX_DELAY_NANOS) sendPending();
        }
    }

    /** Sends everything pending now. */
    void sendAll() { publish(() -> {}); }

    /** A display stream that sends pending text first, so outputs appear in the order the cell made them. */
    DisplayStream displayStream() {
        return new DisplayStream() {
            @Override public void display(DisplayData data) { publish(() -> super.display(data)); }
            @Override public void updateDisplay(DisplayData data) { publish(() -> super.updateDisplay(data)); }
            @Override public void updateDisplay(String id, DisplayData data) { publish(() -> super.updateDisplay(id, data)); }
        };
    }

    private void write(StreamType type, byte[] b, int off, int len) {
        synchronized (lock) {
            if (env == null) return;
            if (pendingType != type) {
                sendPending();
                pendingType = type;
            }
            if (pending.size() == 0) pendingSince = System.nanoTime();
            pending.write(b, off, len);
            if (pending.size() >= MAX_BYTES) sendPending();
        }
    }

    /** Publishes the pending text, keeping back a trailing incomplete UTF-8 character for the next send. Holds lock. */
    private void sendPending() {
        if (pending.size() == 0 || env == null) return;
        byte[] b = pending.toByteArray();
        int end = completeUtf8Length(b);
        pending.reset();
        pending.write(b, end, b.length - end);
        pendingSince = System.nanoTime();
        if (end > 0) env.publish(new PublishStream(pendingType, new String(b, 0, end, StandardCharsets.UTF_8)));
    }

    /** Length of the longest prefix of {@code b} that does not end inside a multi-byte UTF-8 character. */
    static int completeUtf8Length(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(3, n); back++) {
            int c = b[n - back] & 0xff;
            if ((c & 0xc0) == 0x80) continue;                           // continuation byte: look further back
            int need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }

    private final class Sink extends OutputStream {
        private final StreamType type;

        Sink(StreamType type) { this.type = type; }

        @Override public void write(int b) { CellOutput.this.write(type, new byte[] {(byte) b}, 0, 1); }

        @Override public void write(byte[] b, int off, int len) { CellOutput.this.write(type, b, off, len); }
    }
}

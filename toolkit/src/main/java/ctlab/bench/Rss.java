package ctlab.bench;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resident memory of this process from Linux's /proc: the current RSS and the peak since the last
 * {@link #resetPeak()} ({@code echo 5 > /proc/self/clear_refs} resets VmHWM to the current RSS), so each
 * benchmark phase gets its own peak. Off Linux the values are NaN.
 */
final class Rss {
    private Rss() {}

    /** Resets the peak; false where the kernel refuses (the peak then covers the whole process). */
    static boolean resetPeak() {
        try (FileOutputStream out = new FileOutputStream("/proc/self/clear_refs")) {
            out.write("5".getBytes(StandardCharsets.US_ASCII));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static double peakMb() { return field("VmHWM"); }

    static double currentMb() { return field("VmRSS"); }

    private static double field(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.US_ASCII)) {
                if (line.startsWith(name + ":")) {
                    return Long.parseLong(line.substring(name.length() + 1).trim().split("\\s+")[0]) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}

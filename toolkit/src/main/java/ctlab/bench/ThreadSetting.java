package ctlab.bench;

import ctlab.CtlabException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One thread configuration a side is measured under: intra-op threads (also OMP_NUM_THREADS and
 * MKL_NUM_THREADS, so OpenMP and BLAS agree) and libgomp's {@code OMP_WAIT_POLICY}. The policy must be in the
 * environment before the native library starts, so each setting runs in its own child process.
 *
 * @param threads    intra-op threads
 * @param waitPolicy {@code PASSIVE}, {@code ACTIVE}, or null to leave OMP_WAIT_POLICY unset (libgomp spins a
 *                   while, then sleeps)
 */
public record ThreadSetting(int threads, String waitPolicy) {
    public ThreadSetting {
        if (threads < 1) throw new CtlabException("bench: a thread setting needs >= 1 thread, got " + threads);
        if (waitPolicy != null && !waitPolicy.equals("PASSIVE") && !waitPolicy.equals("ACTIVE")) {
            throw new CtlabException("bench: OMP_WAIT_POLICY must be PASSIVE or ACTIVE, got " + waitPolicy);
        }
    }

    /** Parses {@code 2:PASSIVE,2,1} (threads, optionally {@code :PASSIVE} or {@code :ACTIVE}). */
    public static List<ThreadSetting> parseList(String spec) {
        List<ThreadSetting> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) continue;
            String[] tp = p.split(":", 2);
            int n;
            try {
                n = Integer.parseInt(tp[0].trim());
            } catch (NumberFormatException e) {
                throw new CtlabException("bench: --settings entry '" + p + "' should look like 2, 2:PASSIVE or 2:ACTIVE");
            }
            String policy = tp.length == 2 ? tp[1].trim().toUpperCase(Locale.ROOT) : null;
            if ("DEFAULT".equals(policy) || "".equals(policy)) policy = null;
            out.add(new ThreadSetting(n, policy));
        }
        if (out.isEmpty()) throw new CtlabException("bench: --settings is empty");
        return out;
    }

    /** Short label, e.g. {@code 2 thr, PASSIVE} or {@code 1 thr, wait unset}. */
    public String label() {
        return threads + " thr, " + (waitPolicy == null ? "wait unset" : waitPolicy);
    }

    /** Applies this setting to a child process environment. */
    public void applyTo(Map<String, String> env) {
        env.put("OMP_NUM_THREADS", String.valueOf(threads));
        env.put("MKL_NUM_THREADS", String.valueOf(threads));
        if (waitPolicy == null) env.remove("OMP_WAIT_POLICY");
        else env.put("OMP_WAIT_POLICY", waitPolicy);
    }
}

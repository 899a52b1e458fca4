import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs JUnit test classes without Maven (tools/gpu/check.sh, on a machine with a Java runtime but no build tools):
 * {@code java -cp ... RunTests ctlab.model.LlamaModelGoldenTest ...}. One line per test (PASS / FAIL / SKIP, the
 * failure's message on the same line), then a summary line; exit 0 only when tests ran and none failed.
 */
public final class RunTests {
    public static void main(String[] args) {
        AtomicInteger passed = new AtomicInteger(), failed = new AtomicInteger(), skipped = new AtomicInteger();
        TestExecutionListener lines = new TestExecutionListener() {
            private String name(TestIdentifier t) {
                // [engine:junit-jupiter]/[class:a.B]/[method:m()] or .../[test-template:m(String)]/[test-template-invocation:#1]
                String id = t.getUniqueId();
                String cls = id.replaceAll(".*\\[class:([^\\]]*)\\].*", "$1");
                String method = id.replaceAll(".*\\[(?:method|test-template):([^(\\]]*).*", "$1");
                String name = cls.substring(cls.lastIndexOf('.') + 1) + "." + method;
                return id.contains("[test-template-invocation:") ? name + " " + t.getDisplayName() : name;
            }

            @Override public void executionSkipped(TestIdentifier t, String reason) {
                if (!t.isTest()) return;
                skipped.incrementAndGet();
                System.out.println("SKIP " + name(t) + ": " + reason);
            }

            @Override public void executionFinished(TestIdentifier t, TestExecutionResult r) {
                if (r.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
                    if (t.isTest()) {
                        passed.incrementAndGet();
                        System.out.println("PASS " + name(t));
                    }
                    return;
                }
                // a failure outside a test (class setup) counts too
                failed.incrementAndGet();
                String why = r.getThrowable().map(e -> e.getClass().getSimpleName() + ": "
                        + String.valueOf(e.getMessage()).replace('\n', ' ')).orElse(r.getStatus().toString());
                System.out.println("FAIL " + (t.isTest() ? name(t) : t.getDisplayName()) + ": " + why);
                r.getThrowable().ifPresent(e -> e.printStackTrace(System.err));
            }
        };
        var request = LauncherDiscoveryRequestBuilder.request()
                .selectors(Arrays.stream(args).map(DiscoverySelectors::selectClass).toList()).build();
        Launcher launcher = LauncherFactory.create();
        TestPlan plan = launcher.discover(request);
        launcher.execute(plan, lines);
        System.out.printf("tests: %d passed, %d failed, %d skipped%n", passed.get(), failed.get(), skipped.get());
        System.exit(failed.get() == 0 && passed.get() > 0 ? 0 : 1);
    }
}

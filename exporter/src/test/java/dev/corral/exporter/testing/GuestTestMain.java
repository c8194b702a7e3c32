package dev.corral.exporter.testing;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.io.PrintWriter;
import java.util.Arrays;
import org.junit.platform.engine.FilterResult;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.EngineFilter;
import org.junit.platform.launcher.PostDiscoveryFilter;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs tests with the JUnit launcher and exits 0 only if all passed. The qemu harness uses it to run the
 * real-cgroup tests on a cgroup v2 kernel; the summary line it prints is what the host-side test checks.
 * Arguments: {@code --tag T} selects every test class tagged T (the v2 guest runs those tagged {@value #GUEST_TAG}),
 * {@code Class} or {@code Class#method} selects one, {@code !Class#method} leaves one out.
 */
public final class GuestTestMain {

    /** The tag of test classes that also run in the v2 guest. */
    public static final String GUEST_TAG = "guest";

    private GuestTestMain() {
    }

    /** The request that {@code args} describe, as the guest runs it (so the host can count the same tests). */
    public static LauncherDiscoveryRequest request(String... classNames) throws ClassNotFoundException {
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        java.util.Set<String> excluded = new java.util.HashSet<>();
        for (int i = 0; i < classNames.length; i++) {
            String name = classNames[i];
            if (name.equals("--tag")) {
                request.selectors(selectPackage("dev.corral")).filters(TagFilter.includeTags(classNames[++i]));
                continue;
            }
            if (name.startsWith("!")) { // "!Class#method": leave that test out (the caller runs it on its own)
                excluded.add(name.substring(1));
                continue;
            }
            // "Class#method" runs one test (handy when iterating on a guest failure)
            request.selectors(name.contains("#") ? selectMethod(name) : selectClass(Class.forName(name)));
        }
        request.filters((PostDiscoveryFilter) d -> FilterResult.includedIf(!(d.getSource().orElse(null)
                instanceof MethodSource m && excluded.contains(m.getClassName() + "#" + m.getMethodName()))));
        // Property tests stay on the host: jqwik keeps a database file in the (read-only) working directory.
        request.filters(EngineFilter.includeEngines("junit-jupiter"));
        return request.build();
    }

    /** How many tests {@code args} select here: the host compares it with what the guest found and passed. */
    public static long count(String... args) throws ClassNotFoundException {
        return LauncherFactory.create().discover(request(args)).countTestIdentifiers(TestIdentifier::isTest);
    }

    /**
     * Prints "GUEST-TIME seconds Class[#method] status" as each test and each test class ends: the guest's run is
     * minutes under emulation, and the host's report would otherwise show only its total.
     */
    private static final class Times implements TestExecutionListener {
        private final java.util.Map<String, Long> started = new java.util.concurrent.ConcurrentHashMap<>();

        @Override
        public void executionStarted(TestIdentifier id) {
            started.put(id.getUniqueId(), System.nanoTime());
        }

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            Long t0 = started.remove(id.getUniqueId());
            Object source = id.getSource().orElse(null);
            String name = source instanceof ClassSource c ? c.getClassName()
                    : source instanceof MethodSource m ? m.getClassName() + "#" + m.getMethodName() : null;
            if (t0 != null && name != null) {
                System.out.printf("GUEST-TIME %.1f s %s %s%n", (System.nanoTime() - t0) / 1e9, name,
                        result.getStatus());
            }
        }
    }

    public static void main(String[] classNames) throws Exception {
        LauncherDiscoveryRequest built = request(classNames);
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(built, listener, new Times());
        TestExecutionSummary summary = listener.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        summary.printFailuresTo(out, 30);
        summary.printTo(out);
        // One line per failure, so the host-side assertion can name what failed even when CI shows only a tail.
        for (TestExecutionSummary.Failure failure : summary.getFailures()) {
            String message = String.valueOf(failure.getException().getMessage()).strip().replaceAll("\\s+", " ");
            out.printf("GUEST-FAILED %s: %s%n", failure.getTestIdentifier().getLegacyReportingName()
                    + " in " + failure.getTestIdentifier().getUniqueId(), message.length() > 300
                    ? message.substring(0, 300) + "..." : message);
        }
        out.printf("GUEST-TESTS classes=%s found=%d succeeded=%d failed=%d aborted=%d%n",
                Arrays.toString(classNames), summary.getTestsFoundCount(), summary.getTestsSucceededCount(),
                summary.getTotalFailureCount(), summary.getTestsAbortedCount());
        out.flush();
        System.exit(summary.getTotalFailureCount() == 0 && summary.getTestsAbortedCount() == 0
                && summary.getTestsSucceededCount() > 0 ? 0 : 1);
    }
}

package dev.corral.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.testing.Children;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Runs agent/src/test/shim/shim-test.sh: corral-shim's own checks against the real kernel (namespaces,
 * pivot_root, masks, capabilities, no_new_privs, loopback, cgroup joins, exit codes, log rotation, zombie
 * reaping, signal forwarding, failures that leave nothing running), on the binary this build packaged.
 */
@Tag("root")
class ShimScriptTest {

    @Test
    void theShimPassesItsKernelChecks() throws Exception {
        Path repo = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).toAbsolutePath().normalize();
        Path shim = Path.of("target/classes" + Shim.RESOURCE).toAbsolutePath();
        assertThat(shim).as("the build packaged corral-shim (needs a C compiler)").isExecutable();
        ProcessBuilder pb = new ProcessBuilder("bash", repo.resolve("agent/src/test/shim/shim-test.sh").toString())
                .redirectErrorStream(true);
        pb.environment().put("CORRAL_SHIM", shim.toString());
        Children.Finished run = Children.run(pb, Duration.ofSeconds(300));
        String out = run.output();
        System.out.println(out);
        assertThat(run.exitCode()).as(out).isZero();
        assertThat(out).doesNotContain("FAIL");
    }
}

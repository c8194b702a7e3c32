package dev.corral.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs agent/src/test/shim/shim-test.sh: corral-shim's own checks against the real kernel (namespaces,
 * pivot_root, masks, capabilities, no_new_privs, loopback, cgroup joins, exit codes, log rotation, zombie
 * reaping, signal forwarding, failures that leave nothing running), on the binary this build packaged.
 */
class ShimScriptTest {

    @Test
    void theShimPassesItsKernelChecks() throws Exception {
        Path repo = Path.of(System.getenv().getOrDefault("CORRAL_REPO", "..")).toAbsolutePath().normalize();
        Path shim = Path.of("target/classes" + Shim.RESOURCE).toAbsolutePath();
        assertThat(shim).as("the build packaged corral-shim (needs a C compiler)").isExecutable();
        ProcessBuilder pb = new ProcessBuilder("bash", repo.resolve("agent/src/test/shim/shim-test.sh").toString())
                .redirectErrorStream(true);
        pb.environment().put("CORRAL_SHIM", shim.toString());
        Process run = pb.start();
        String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(run.waitFor(300, TimeUnit.SECONDS)).isTrue();
        System.out.println(out);
        assertThat(run.exitValue()).as(out).isZero();
        assertThat(out).doesNotContain("FAIL");
    }
}

package dev.corral.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.testing.GuestTestMain;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The README's quick tour (QuickTourIT: bin/corral serve, pull from a registry on 127.0.0.1, exec into the
 * container's namespaces and cgroup, restarts after failures, an OOM kill and a daemon restart) on a real cgroup v2
 * kernel. A guest run of its own, after {@code package}, rather than in CgroupV2KernelTest's: that one runs in the
 * test phase, before bin/corral's jar is built.
 */
@Tag("vm")
@Tag("slow")
class QuickTourV2GuestIT {

    @Test
    void theQuickTourPassesOnACgroupV2Kernel() throws Exception {
        // Where the kernel is involved (exec joining the namespaces and cgroup, restarts after an exit, an OOM kill
        // and a daemon restart); run --pull and push, registry protocol only, stay on the host: every CLI command is
        // a JVM start, seconds each under emulation.
        List<String> selected = List.of("dev.corral.agent.client.QuickTourIT#pullFromARegistryThenRunAndExecIntoIt",
                "dev.corral.agent.client.QuickTourIT#restartPoliciesCountInPsAndInspectAndAlwaysOutlivesTheDaemon",
                // the tour's exec -it: a terminal from the guest's devpts (the client-side cases stay on the host)
                "dev.corral.agent.client.TerminalCliIT#execItGivesAShellOnATerminalThatFollowsThisOne",
                // run -it: the container's own process on a terminal of its devpts, its size, a resize, Ctrl-C, exit
                "dev.corral.agent.client.TerminalCliIT#runItGivesTheContainersOwnProcessATerminalThatFollowsThisOne");
        long expected = GuestTestMain.count(selected.toArray(String[]::new));
        assertThat(expected).isEqualTo(4);
        assertThat(CgroupV2KernelTest.runInGuest(selected)).as("succeeded in the v2 guest").isEqualTo(expected);
    }
}

package dev.corral.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.cgroup.DeviceRules;
import dev.corral.agent.image.Trees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What --allow-unrestricted-devices asks at startup: whether this kernel loads the cgroup v2 device filter
 * (here and in the v2 guest it does, for the default list), and the shim's reason when it does not.
 */
@Tag("root")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
class ShimDeviceProbeTest {

    @Test
    void theProbeLoadsTheDefaultFilterAndNamesWhatItRefuses() throws Exception {
        Path state = Files.createTempDirectory("corral-test-probe");
        try (Shim shim = Shim.install(state)) {
            assertThat(shim.probeDeviceFilter(DeviceRules.DEFAULT)).isEmpty();
            assertThat(shim.probeDeviceFilter(List.of("c 1:3 rwm", "c 1:5 rmx"))).hasValueSatisfying(reason ->
                    assertThat(reason).isEqualTo("corral-shim: devices: device rule \"c 1:5 rmx\": expected "
                            + "\"TYPE MAJOR:MINOR ACCESS\" (a/b/c, a number or *, some of rwm)"));
        } finally {
            Trees.delete(state);
        }
    }
}

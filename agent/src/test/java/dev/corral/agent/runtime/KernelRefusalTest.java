package dev.corral.agent.runtime;

import static dev.corral.agent.testing.TestRoots.HOST;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * Limits the real kernel refuses (v1 memory and cpuset rules, this host's layout): the error names the field and
 * the value the user gave, never the control file's path or the errno, and nothing changes or stays behind.
 */
@Tag("root")
class KernelRefusalTest {

    private RuntimeFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture();
    }

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    private static void assertNoKernelText(SpecException e) {
        assertThat(e.getMessage()).doesNotContain("/sys/fs/cgroup").doesNotContain("EBUSY")
                .doesNotContain("EINVAL").doesNotContain("ERANGE");
    }

    /** v1 refuses (EBUSY) a memory limit below what it cannot reclaim; v2 would OOM-kill instead. */
    @Test
    void aMemoryLimitBelowWhatTheContainerHoldsIsRefusedAndTheOldOneStays() throws Exception {
        assertThat(fx.dirs.v2()).as("a v1-kernel rule").isFalse();
        fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'holder','command':['sh','-c',"
                + "'x=$(yes | head -c 40000000); echo held; sleep 300']}")); // 40 MB the kernel cannot reclaim
        Path memory = fx.cgroupDir("holder", "memory");
        fx.awaitStdout("holder", "held");
        String before = Files.readString(memory.resolve("memory.limit_in_bytes"));

        assertThatThrownBy(() -> fx.runtime.updateLimits("holder", new ContainerSpec.Limits(
                new ContainerSpec.Memory(8L << 20, null, null, null), null, null, null)))
                .isInstanceOfSatisfying(SpecException.class, e -> {
                    assertThat(e.field()).isEqualTo("limits.memory.max");
                    assertThat(e.problem()).startsWith("8388608 bytes is less than the container uses now");
                    assertNoKernelText(e);
                });
        assertThat(Files.readString(memory.resolve("memory.limit_in_bytes"))).isEqualTo(before);
        assertThat(fx.runtime.inspect("holder").state()).isEqualTo(ContainerState.RUNNING);
        assertThat(fx.runtime.inspect("holder").spec().limits()).isNull();
    }

    /** A CPU the host has but the parent cgroup does not pass on: v1 refuses it (EACCES) when it is written. */
    @Test
    void aCpusetOutsideTheParentCgroupsIsRefusedNamingWhatItAllows() throws Exception {
        assertThat(fx.dirs.v2()).as("a v1-kernel rule").isFalse();
        assertThat(Runtime.getRuntime().availableProcessors()).as("needs a second CPU").isGreaterThan(1);
        Files.writeString(fx.cgroupDir(null, "cpuset").resolve("cpuset.cpus"), "0");

        assertThatThrownBy(() -> fx.runtime.create(RuntimeFixture.spec(
                "{" + HOST + "'name':'pinned','command':['true'],'limits':{'cpu':{'cpusetCpus':'1'}}}")))
                .isInstanceOfSatisfying(SpecException.class, e -> {
                    assertThat(e.field()).isEqualTo("limits.cpu.cpusetCpus");
                    assertThat(e.problem()).isEqualTo("'1': containers here may use CPUs 0");
                    assertNoKernelText(e);
                });
        assertThat(fx.runtime.list()).isEmpty();
        assertThat(fx.cgroupDir("pinned", "cpuset")).doesNotExist();
    }
}

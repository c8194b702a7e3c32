package dev.corral.agent.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.cgroup.CgroupException;
import dev.corral.exporter.sample.CpuSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Tag;

/** Limits the kernel would clamp or refuse are refused up front, or explained, naming the user's value. */
@Tag("unit")
class LimitMessagesTest {

    private static final HostFacts TWO_CPUS = new HostFacts(new Capabilities(40), 2, false, List.of(),
            d -> null, CpuSet.parse("0-1"), CpuSet.parse("0"));

    private static ContainerConfig validate(String cpuJson) throws Exception {
        return new SpecValidator(TWO_CPUS).validate(SpecParser.parse(("{'name':'c','rootfs':'host','command':['x'],'limits':{'cpu':"
                + cpuJson + "}}").replace('\'', '"').getBytes()));
    }

    private static SpecException refusal(String cpuJson) {
        try {
            validate(cpuJson);
        } catch (Exception e) {
            assertThat(e).isInstanceOf(SpecException.class);
            return (SpecException) e;
        }
        throw new AssertionError(cpuJson + " was accepted");
    }

    @Test
    void cpusBelowTheKernelsLeastQuotaAreRefusedNotClampedBehindTheUsersBack() throws Exception {
        SpecException e = refusal("{'cpus':0.001}");
        assertThat(e.field()).isEqualTo("limits.cpu.cpus");
        assertThat(e.problem()).isEqualTo("0.001 is below the kernel's minimum of 0.01 (a CFS quota of at least 1 ms "
                + "per 100 ms period)");
        assertThat(refusal("{'cpus':0.0001}").problem()).startsWith("0.0001 is below");
        assertThat(validate("{'cpus':0.01}").limits().cpu().quotaMicros()).isEqualTo(1000);
        // The minimum is 1 ms per period: a longer period allows less.
        assertThat(validate("{'cpus':0.001,'period':1000000}").limits().cpu().quotaMicros()).isEqualTo(1000);
        assertThat(refusal("{'cpus':0.001,'period':200000}").problem()).contains("minimum of 0.005");
    }

    @Test
    void aCpusetNamingCpusOrNodesTheHostLacksIsRefusedNamingWhatItHas() throws Exception {
        SpecException e = refusal("{'cpusetCpus':'5'}");
        assertThat(e.field()).isEqualTo("limits.cpu.cpusetCpus");
        assertThat(e.problem()).isEqualTo("'5': this host has CPUs 0-1");
        assertThat(refusal("{'cpusetCpus':'0-2'}").problem()).isEqualTo("'0-2': this host has CPUs 0-1");
        assertThat(refusal("{'cpusetCpus':'0-99999'}").problem()).isEqualTo("'0-99999': this host has CPUs 0-1");
        SpecException mems = refusal("{'cpusetMems':'1'}");
        assertThat(mems.field()).isEqualTo("limits.cpu.cpusetMems");
        assertThat(mems.problem()).isEqualTo("'1': this host has memory nodes 0");
        assertThat(validate("{'cpusetCpus':'0-1','cpusetMems':'0'}").limits().cpu().cpusetCpus()).isEqualTo("0-1");
        assertThat(validate("{'cpusetCpus':'1'}").limits().cpu().cpusetCpus()).isEqualTo("1");
    }

    @Test
    void aKernelRefusalNamesTheFieldAndValueNotThePathOrErrno(@TempDir Path cgroups) throws Exception {
        Path parent = Files.createDirectories(cgroups.resolve("corral"));
        Files.writeString(parent.resolve("cpuset.effective_cpus"), "0\n");
        Path child = Files.createDirectories(parent.resolve("web"));
        CgroupException cpuset = new CgroupException.InvalidValue("write '1' to " + child.resolve("cpuset.cpus")
                + ": Invalid argument (EINVAL)", child.resolve("cpuset.cpus"), "1", null);
        SpecException e = LimitRefusals.explain(cpuset, null);
        assertThat(e.field()).isEqualTo("limits.cpu.cpusetCpus");
        assertThat(e.problem()).isEqualTo("'1': containers here may use CPUs 0");

        CgroupException busy = new CgroupException.Busy("write '8388608' to " + child.resolve("memory.limit_in_bytes")
                + ": Device or resource busy (EBUSY)", child.resolve("memory.limit_in_bytes"), "8388608", null);
        SpecException m = LimitRefusals.explain(busy, null);
        assertThat(m.field()).isEqualTo("limits.memory.max");
        assertThat(m.problem()).startsWith("8388608 bytes is less than the container uses now");

        CgroupException quota = new CgroupException.InvalidValue("write", child.resolve("cpu.max"), "500 100000",
                null);
        SpecException q = LimitRefusals.explain(quota, new ContainerSpec.Limits(null,
                new ContainerSpec.Cpu(0.005, null, null, null, null, null, null), null, null));
        assertThat(q.field()).isEqualTo("limits.cpu.cpus");
        assertThat(q.problem()).contains("500 microseconds per 100000");
        for (SpecException s : List.of(e, m, q)) {
            assertThat(s.getMessage()).doesNotContain(cgroups.toString()).doesNotContain("EINVAL")
                    .doesNotContain("EBUSY");
        }
    }
}

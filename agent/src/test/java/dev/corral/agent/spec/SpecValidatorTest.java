package dev.corral.agent.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.Limits;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rule of {@link SpecValidator}, {@link LimitsValidator} and {@link MountValidator}, one row each: the spec
 * fragment (merged over a valid base spec), the field named and the exact message. Host facts are fixed: 2 CPUs,
 * cgroup v1, /etc/ssl as the agent's protected state, /dev/vda as the one block device.
 */
@Tag("unit")
class SpecValidatorTest {

    private static final HostFacts HOST = new HostFacts(new Capabilities(40), 2, false, List.of(Path.of("/etc/ssl")),
            d -> d.equals("/dev/vda") ? "254:0" : null, CpuSet.parse("0-1"), CpuSet.parse("0"));
    private static final String BASE = "{'name':'c','command':['x'],'rootfs':'host'}";

    /** The base spec with the fragment's top-level fields replacing the base's ('null' removes one). */
    private static ContainerConfig validate(String fragment) throws SpecException {
        try {
            ObjectNode spec = (ObjectNode) SpecParser.JSON.readTree(json(BASE));
            ObjectNode over = (ObjectNode) SpecParser.JSON.readTree(json(fragment));
            over.fields().forEachRemaining(e -> {
                if (e.getValue().isNull()) {
                    spec.remove(e.getKey());
                } else {
                    spec.set(e.getKey(), e.getValue());
                }
            });
            return new SpecValidator(HOST).validate(SpecParser.parse(SpecParser.JSON.writeValueAsBytes(spec)));
        } catch (java.io.IOException e) {
            throw new AssertionError("bad test row " + fragment, e);
        }
    }

    private static String json(String s) {
        return s.replace('\'', '"');
    }

    static Stream<Arguments> refusals() {
        String validName = "'%s' is not a valid name: use 1-64 letters, digits, '_', '.' or '-', starting with a "
                + "letter or digit";
        String hostOverride = "set dangerouslyAllowHostPaths: true only if the container may own the host";
        return Stream.of(
                // name, command, env, paths, user, hostname, labels
                arguments("{'name':null}", "name", "is required"),
                arguments("{'name':'-x'}", "name", validName.formatted("-x")),
                arguments("{'name':'a b'}", "name", validName.formatted("a b")),
                arguments("{'consoleSize':[24]}", "consoleSize", "expected [rows, columns], each 0 to 65535, got [24]"),
                arguments("{'consoleSize':[24,70000]}", "consoleSize",
                        "expected [rows, columns], each 0 to 65535, got [24, 70000]"),
                arguments("{'name':'" + "n".repeat(65) + "'}", "name", validName.formatted("n".repeat(65))),
                arguments("{'command':null}", "command", "is required: the program and its arguments"),
                arguments("{'command':[]}", "command", "is required: the program and its arguments"),
                arguments("{'command':['']}", "command[0]", "must be a non-empty string without NUL bytes"),
                arguments("{'command':['sh','a\\u0000b']}", "command[1]",
                        "must be a non-empty string without NUL bytes"),
                arguments("{'env':{'1A':'v'}}", "env.1A", "is not a valid variable name"),
                arguments("{'env':{'A-B':'v'}}", "env.A-B", "is not a valid variable name"),
                arguments("{'env':{'A':'x\\u0000'}}", "env.A", "must be a string without NUL bytes"),
                arguments("{'workingDir':''}", "workingDir", "is required"),
                arguments("{'workingDir':'rel'}", "workingDir", "must be an absolute path"),
                arguments("{'workingDir':'/a/../b'}", "workingDir", "must not contain '..'"),
                arguments("{'workingDir':'/a\\nb'}", "workingDir", "must not contain NUL, tab or newline characters"),
                arguments("{'user':{'uid':-1}}", "user.uid", "must be between 0 and 4294967294"),
                arguments("{'user':{'gid':4294967295}}", "user.gid", "must be between 0 and 4294967294"),
                arguments("{'user':{'additionalGids':[1,-2]}}", "user.additionalGids[1]",
                        "must be between 0 and 4294967294"),
                arguments("{'hostname':''}", "hostname", "must be 1-64 letters, digits, '.' or '-'"),
                arguments("{'hostname':'a_b'}", "hostname", "must be 1-64 letters, digits, '.' or '-'"),
                arguments("{'hostname':'" + "h".repeat(65) + "'}", "hostname",
                        "must be 1-64 letters, digits, '.' or '-'"),
                arguments("{'labels':{'':'v'}}", "labels", "keys must be 1-128 characters without NUL bytes"),
                arguments("{'labels':{'" + "k".repeat(129) + "':'v'}}", "labels",
                        "keys must be 1-128 characters without NUL bytes"),
                arguments("{'labels':{'k':'" + "v".repeat(4097) + "'}}", "labels.k",
                        "must be a string of at most 4096 characters"),
                // rootfs and image
                arguments("{'rootfs':null}", "rootfs", "a container needs an image or a rootfs: give image, a "
                        + "rootfs directory, or rootfs 'host' for the host's root (read-only)"),
                arguments("{'rootfs':'/'}", "rootfs", "use rootfs 'host' for the host's root (read-only unless "
                        + "dangerouslyAllowHostPaths); '/' is not a container root"),
                arguments("{'rootfs':'/etc/passwd'}", "rootfs", "'/etc/passwd' is not a directory"),
                arguments("{'rootfs':'etc'}", "rootfs", "must be an absolute path"),
                arguments("{'rootfs':'/etc/../etc'}", "rootfs", "must not contain '..'"),
                arguments("{'rootfs':'/etc','namespaces':{'mount':false}}", "namespaces.mount",
                        "a rootfs needs a mount namespace"),
                arguments("{'image':'busybox'}", "image", "give an image or a rootfs, not both"),
                arguments("{'rootfs':null,'image':'busybox','namespaces':{'mount':false}}", "namespaces.mount",
                        "an image needs a mount namespace"),
                arguments("{'rootfs':null,'image':'busybox','namespaces':{'user':{'uidMappings':[{'containerId':0,"
                        + "'hostId':100000,'size':1}],'gidMappings':[{'containerId':0,'hostId':100000,'size':1}]}}}",
                        "namespaces.user", "an image root cannot be used with a user namespace yet: overlayfs there "
                                + "cannot read the layers' trusted.overlay xattrs"),
                // the host's root
                arguments("{'readOnlyRootfs':false}", "readOnlyRootfs", "a writable host root lets the container "
                        + "own the host; set dangerouslyAllowHostPaths: true too if it may"),
                arguments("{'namespaces':{'pid':false}}", "namespaces.pid", "the host's root needs a pid namespace: "
                        + "with the host's, /proc/1/root reaches the host's writable root; set "
                        + "dangerouslyAllowHostPaths: true if it may"),
                // namespaces
                arguments("{'namespaces':{'network':'no such'}}", "namespaces.network",
                        "must be bridge, none, host, a network's name or container:NAME, not 'no such'"),
                arguments("{'namespaces':{'network':'container:'}}", "namespaces.network",
                        "must be bridge, none, host, a network's name or container:NAME, not 'container:'"),
                arguments("{'hostname':'h','namespaces':{'network':'container:web'}}", "hostname",
                        "cannot be set with network 'container:web': the container has the hostname of the "
                                + "container whose network it joins"),
                arguments("{'namespaces':{'user':{'gidMappings':[{'containerId':0,'hostId':1,'size':1}]}}}",
                        "namespaces.user.uidMappings", "a user namespace needs at least one mapping"),
                arguments("{'namespaces':{'user':{'uidMappings':[{'containerId':0,'hostId':1,'size':1}],"
                        + "'gidMappings':[]}}}", "namespaces.user.gidMappings",
                        "a user namespace needs at least one mapping"),
                arguments("{'namespaces':{'user':{'uidMappings':[{'containerId':0,'hostId':1,'size':0}]}}}",
                        "namespaces.user.uidMappings[0]",
                        "needs containerId, hostId >= 0 and size >= 1 within 32-bit ids"),
                arguments("{'namespaces':{'user':{'uidMappings':[{'containerId':0,'hostId':1,'size':1},"
                        + "{'containerId':1,'hostId':4294967295,'size':1}]}}}", "namespaces.user.uidMappings[1]",
                        "needs containerId, hostId >= 0 and size >= 1 within 32-bit ids"),
                arguments("{'namespaces':{'user':{'uidMappings':[{'hostId':1,'size':1}]}}}",
                        "namespaces.user.uidMappings[0]",
                        "needs containerId, hostId >= 0 and size >= 1 within 32-bit ids"),
                // memory and pids
                arguments("{'limits':{'memory':{'max':'5m'}}}", "limits.memory.max", "must be at least 6m"),
                arguments("{'limits':{'memory':{'max':-5}}}", "limits.memory.max", "must not be negative"),
                arguments("{'limits':{'memory':{'high':'64m'}}}", "limits.memory.high",
                        "needs cgroup v2; this host's memory controller is v1"),
                arguments("{'limits':{'memory':{'max':'64m','reservation':'65m'}}}", "limits.memory.reservation",
                        "must not exceed limits.memory.max"),
                arguments("{'limits':{'memory':{'reservation':-1}}}", "limits.memory.reservation",
                        "must not be negative"),
                arguments("{'limits':{'memory':{'swap':-1}}}", "limits.memory.swap", "must not be negative"),
                arguments("{'limits':{'pids':{'max':0}}}", "limits.pids.max",
                        "must be at least 1 (or -1 for unlimited)"),
                arguments("{'limits':{'pids':{'max':-2}}}", "limits.pids.max",
                        "must be at least 1 (or -1 for unlimited)"),
                // cpu
                arguments("{'limits':{'cpu':{'period':999}}}", "limits.cpu.period",
                        "must be between 1000 and 1000000 microseconds"),
                arguments("{'limits':{'cpu':{'period':1000001}}}", "limits.cpu.period",
                        "must be between 1000 and 1000000 microseconds"),
                arguments("{'limits':{'cpu':{'cpus':1,'quota':50000}}}", "limits.cpu.cpus",
                        "give either cpus or quota, not both"),
                arguments("{'limits':{'cpu':{'cpus':0}}}", "limits.cpu.cpus",
                        "must be more than 0 and at most 2 (this host's CPUs)"),
                arguments("{'limits':{'cpu':{'cpus':2.5}}}", "limits.cpu.cpus",
                        "must be more than 0 and at most 2 (this host's CPUs)"),
                arguments("{'limits':{'cpu':{'cpus':0.001}}}", "limits.cpu.cpus", "0.001 is below the kernel's "
                        + "minimum of 0.01 (a CFS quota of at least 1 ms per 100 ms period)"),
                arguments("{'limits':{'cpu':{'quota':999}}}", "limits.cpu.quota",
                        "must be at least 1000 microseconds (or -1 for none)"),
                arguments("{'limits':{'cpu':{'shares':512,'weight':100}}}", "limits.cpu.shares",
                        "give either shares or weight, not both"),
                arguments("{'limits':{'cpu':{'shares':1}}}", "limits.cpu.shares", "must be between 2 and 262144"),
                arguments("{'limits':{'cpu':{'shares':262145}}}", "limits.cpu.shares",
                        "must be between 2 and 262144"),
                arguments("{'limits':{'cpu':{'weight':0}}}", "limits.cpu.weight", "must be between 1 and 10000"),
                arguments("{'limits':{'cpu':{'weight':10001}}}", "limits.cpu.weight", "must be between 1 and 10000"),
                arguments("{'limits':{'cpu':{'cpusetCpus':'0-'}}}", "limits.cpu.cpusetCpus",
                        "'0-' is not a list like 0-3,5"),
                arguments("{'limits':{'cpu':{'cpusetCpus':'2'}}}", "limits.cpu.cpusetCpus",
                        "'2': this host has CPUs 0-1"),
                arguments("{'limits':{'cpu':{'cpusetMems':'x'}}}", "limits.cpu.cpusetMems",
                        "'x' is not a list like 0-3,5"),
                arguments("{'limits':{'cpu':{'cpusetMems':'0-1'}}}", "limits.cpu.cpusetMems",
                        "'0-1': this host has memory nodes 0"),
                // io
                arguments("{'limits':{'io':{'weight':9}}}", "limits.io.weight", "must be between 10 and 1000"),
                arguments("{'limits':{'io':{'weight':1001}}}", "limits.io.weight", "must be between 10 and 1000"),
                arguments("{'limits':{'io':{'devices':[{'readBps':1}]}}}", "limits.io.devices[0].device",
                        "is required: MAJOR:MINOR or a block device path"),
                arguments("{'limits':{'io':{'devices':[{'device':'/dev/null'}]}}}", "limits.io.devices[0].device",
                        "'/dev/null' is not a block device"),
                arguments("{'limits':{'io':{'devices':[{'device':'8:0','readBps':0}]}}}",
                        "limits.io.devices[0].readBps", "must be at least 1 (or \"max\" for no limit)"),
                arguments("{'limits':{'io':{'devices':[{'device':'8:0','writeBps':-1}]}}}",
                        "limits.io.devices[0].writeBps", "must be at least 1 (or \"max\" for no limit)"),
                arguments("{'limits':{'io':{'devices':[{'device':'8:0'},{'device':'8:0','readIops':0}]}}}",
                        "limits.io.devices[1].readIops", "must be at least 1 (or \"max\" for no limit)"),
                arguments("{'limits':{'io':{'devices':[{'device':'8:0','writeIops':0}]}}}",
                        "limits.io.devices[0].writeIops", "must be at least 1 (or \"max\" for no limit)"),
                // security
                arguments("{'security':{'capAdd':['NET_ADMIN',null]}}", "security.capAdd[1]",
                        "must be a capability name"),
                arguments("{'security':{'capDrop':['NOPE']}}", "security.capDrop[0]", "unknown capability 'NOPE'"),
                arguments("{'security':{'deviceCgroupRules':['b 8:16']}}", "security.deviceCgroupRules[0]",
                        "expected 'TYPE MAJOR:MINOR ACCESS' (a, b or c; a number or *; some of rwm), e.g. "
                                + "'b 8:16 rw', got 'b 8:16'"),
                // mounts
                arguments("{'mounts':[{'type':'tmpfs'}]}", "mounts[0].target", "is required"),
                arguments("{'mounts':[{'type':'tmpfs','target':'x'}]}", "mounts[0].target",
                        "must be an absolute path"),
                arguments("{'mounts':[{'type':'tmpfs','target':'/'}]}", "mounts[0].target", "must not be '/'"),
                arguments("{'mounts':[{'type':'tmpfs','target':'/a/..'}]}", "mounts[0].target",
                        "must not contain '..'"),
                arguments("{'mounts':[{'type':'overlay','target':'/a'}]}", "mounts[0].type",
                        "must be 'bind' or 'tmpfs'"),
                arguments("{'mounts':[{'target':'/a'}]}", "mounts[0].source", "is required"),
                arguments("{'mounts':[{'source':'/no/such/corral-cli','target':'/a'}]}", "mounts[0].source",
                        "'/no/such/corral-cli' does not exist"),
                arguments("{'mounts':[{'source':'/','target':'/a'}]}", "mounts[0].source",
                        "binding '/' would expose the host's root to the container; " + hostOverride),
                arguments("{'mounts':[{'source':'/proc/self','target':'/a'}]}", "mounts[0].source",
                        "binding '/proc/self' would expose host kernel interfaces (proc) to the container; "
                                + hostOverride),
                arguments("{'mounts':[{'source':'/sys','target':'/a'}]}", "mounts[0].source",
                        "binding '/sys' would expose host kernel interfaces (sys) to the container; " + hostOverride),
                arguments("{'mounts':[{'source':'/dev/null','target':'/a'}]}", "mounts[0].source",
                        "binding '/dev/null' would expose host kernel interfaces (dev) to the container; "
                                + hostOverride),
                arguments("{'mounts':[{'source':'/etc','target':'/a'}]}", "mounts[0].source",
                        "binding '/etc' would expose the agent's own state (/etc/ssl) to the container; "
                                + hostOverride),
                arguments("{'mounts':[{'source':'/etc/ssl/certs','target':'/a'}]}", "mounts[0].source",
                        "binding '/etc/ssl/certs' would expose the agent's own state (/etc/ssl) to the container; "
                                + hostOverride),
                arguments("{'mounts':[{'type':'tmpfs','source':'x','target':'/a'}]}", "mounts[0].source",
                        "a tmpfs has no source"),
                arguments("{'mounts':[{'type':'tmpfs','target':'/a','mode':'999'}]}", "mounts[0].mode",
                        "must be octal like 1777"),
                arguments("{'mounts':[{'type':'tmpfs','target':'/a','size':4095}]}", "mounts[0].size",
                        "must be at least 4k"),
                arguments("{'mounts':[{'type':'tmpfs','target':'/a','size':'max'}]}", "mounts[0].size",
                        "must be at least 4k"));
    }

    @ParameterizedTest(name = "{0} -> {1}: {2}")
    @MethodSource("refusals")
    void eachRuleRefusesNamingTheFieldWithItsMessage(String fragment, String field, String message) {
        SpecException e = org.junit.jupiter.api.Assertions.assertThrows(SpecException.class, () -> validate(fragment));
        assertThat(e.field()).isEqualTo(field);
        assertThat(e.problem()).isEqualTo(message);
    }

    @Test
    void mountsWithoutAMountNamespaceAreRefused() {
        // Without rootfs and image there is no valid spec lacking a mount namespace but with mounts, so this rule is
        // reached through the validator's parts directly.
        SpecException e = org.junit.jupiter.api.Assertions.assertThrows(SpecException.class, () -> new MountValidator(
                HOST).mounts(List.of(new ContainerSpec.Mount("tmpfs", null, "/a", null, null, null)), false, false));
        assertThat(e.field()).isEqualTo("mounts");
        assertThat(e.problem()).isEqualTo("mounts need a mount namespace");
    }

    @Test
    void controlCharactersInTheUsersValueArePrintedAsQuestionMarksAndCut() {
        SpecException e = org.junit.jupiter.api.Assertions.assertThrows(SpecException.class,
                () -> validate("{'name':'a\\u0001" + "b".repeat(100) + "'}"));
        assertThat(e.problem()).startsWith("'a?bbb").contains("b...' is not a valid name");
    }

    @Test
    void defaultsAreFilledIn() throws Exception {
        ContainerConfig c = validate("{}");
        assertThat(c.env()).containsEntry("PATH", SpecValidator.DEFAULT_PATH);
        assertThat(c.workingDir()).isEqualTo("/");
        assertThat(c.hostname()).isEqualTo("c");
        assertThat(c.uid()).isZero();
        assertThat(c.readOnlyRootfs()).isTrue();
        assertThat(c.namespaces()).containsExactlyInAnyOrder("pid", "mount", "uts", "ipc", "net");
        assertThat(c.noNewPrivileges()).isTrue();
        assertThat(c.capabilities()).isEqualTo(Capabilities.DEFAULT);
        // the host root's private /tmp and /run, then the protected path masked
        assertThat(c.mounts()).extracting(ContainerConfig.MountPlan::target).containsExactly("/tmp", "/run",
                "/etc/ssl");
    }

    @Test
    void acceptedValuesAreNormalisedAsTheRulesSay() throws Exception {
        ContainerConfig c = validate("{'workingDir':'/a//b/./c','namespaces':{'network':'host','cgroup':true},"
                + "'security':{'capDrop':['ALL'],'capAdd':['cap_net_admin']},"
                + "'limits':{'memory':{'max':'max'},'pids':{'max':-1},'cpu':{'cpus':0.5,'shares':512},"
                + "'io':{'devices':[{'device':'/dev/vda','readBps':'1m'}]}},"
                + "'mounts':[{'type':'tmpfs','target':'/scratch','size':'1m','mode':'0700'},"
                + "{'source':'/usr','target':'/u','readOnly':false}]}");
        assertThat(c.workingDir()).isEqualTo("/a/b/c");
        assertThat(c.namespaces()).contains("cgroup").doesNotContain("net");
        assertThat(c.capabilities()).containsExactly("NET_ADMIN");
        assertThat(Limits.isUnlimited(c.limits().memory().max())).isTrue();
        assertThat(Limits.isUnlimited(c.limits().pids().max())).isTrue();
        assertThat(c.limits().cpu().quotaMicros()).isEqualTo(50_000);
        assertThat(c.limits().cpu().periodMicros()).isEqualTo(100_000);
        assertThat(c.limits().io().devices()).singleElement().satisfies(d -> {
            assertThat(d.major()).isEqualTo(254);
            assertThat(d.readBps()).isEqualTo(1L << 20);
        });
        assertThat(c.mounts()).filteredOn(m -> m.target().equals("/scratch")).singleElement()
                .satisfies(m -> assertThat(m.data()).isEqualTo("mode=0700,size=1048576"));
        assertThat(c.mounts()).filteredOn(m -> m.target().equals("/u")).singleElement()
                .satisfies(m -> assertThat(m.readOnly()).isFalse());
        ContainerConfig quota = validate("{'limits':{'cpu':{'quota':-1}}}");
        assertThat(Limits.isUnlimited(quota.limits().cpu().quotaMicros())).isTrue();
    }
}

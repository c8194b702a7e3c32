package dev.corral.agent.foreign;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.server.Agent;
import dev.corral.agent.server.AgentOptions;
import dev.corral.agent.testing.TestParent;
import dev.corral.exporter.ExporterConfig;
import dev.corral.exporter.discovery.HostPaths;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Policy classes on a real dockerd's containers: govern applies weights and memory relief to their cgroups,
 * observe changes nothing but exports the dry run, an owner's {@code docker update} is backed off from, and the
 * owner's values come back when the policy stops acting (class removed, agent stopped).
 */
@Tag("root")
class DockerPolicyTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final long V1_UNLIMITED = 9223372036854771712L;

    static DockerDaemon docker;

    @BeforeAll
    static void start() throws Exception {
        docker = DockerDaemon.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (docker != null) {
            docker.close();
        }
    }

    /** An agent with a runtime (the policy loop needs one), following the test's dockerd, running {@code policy}. */
    private record Running(Agent agent, TestParent dirs, Path policyFile) implements AutoCloseable {

        static Running start(String policy) throws Exception {
            TestParent dirs = new TestParent("corral-test-foreign");
            Assumptions.assumeFalse(dirs.v2(), "dockerd here runs on the v1 hierarchies");
            Path file = dirs.stateDir.resolve("policy.json");
            Files.writeString(file, policy.replace('\'', '"'));
            ExporterConfig config = new ExporterConfig(HostPaths.system(), List.of("/"), Duration.ofMillis(500),
                    Duration.ofSeconds(5), 60);
            Agent agent;
            try {
                agent = Agent.start(new AgentOptions("127.0.0.1", 0, config,
                        AgentOptions.RuntimeOptions.in(dirs.stateDir, dirs.path),
                        new AgentOptions.PolicyOptions(file, false),
                        new AgentOptions.ForeignOptions(docker.socket, null, Set.of(), Duration.ofSeconds(2))));
            } catch (Exception e) {
                dirs.abandon();
                throw e;
            }
            return new Running(agent, dirs, file);
        }

        String metrics() throws Exception {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + agent.httpPort() + "/metrics")).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.body();
        }

        /** The v1 control file of a cgroup, in its controller's hierarchy. */
        Path file(String cgroup, String controller, String name) {
            return dirs.layout.hierarchyOf(controller).orElseThrow().dirOf(cgroup).orElseThrow().resolve(name);
        }

        @Override
        public void close() throws Exception {
            try {
                TestParent.removeContainers(agent.runtime().orElseThrow());
            } finally {
                agent.close();
                dirs.close();
            }
        }
    }

    private static long number(Path file) throws Exception {
        String v = Files.readString(file).strip();
        return Long.parseLong(v);
    }

    private static void await(String what, long millis, Callable<Boolean> done) throws Exception {
        long until = System.currentTimeMillis() + millis;
        while (!done.call()) {
            assertThat(System.currentTimeMillis()).as("waited for " + what).isLessThan(until);
            Thread.sleep(100);
        }
    }

    private static String foreignCount(String action, String mode) {
        return "corral_policy_foreign_actions_total{action=\"" + action + "\",mode=\"" + mode + "\",";
    }

    @Test
    void governWeights1To3ObserveChangesNothingAnOwnerUpdateIsBackedOffFromAndOwnersValuesComeBack()
            throws Exception {
        String r = UUID.randomUUID().toString().substring(0, 6);
        String lo = "fg-lo-" + r;
        String hi = "fg-hi-" + r;
        String idle = "fg-idle-" + r;
        String seen = "fg-seen-" + r;
        String govern = "{'name':'lo','mode':'govern','weight':0.5,'selector':{'runtimes':['docker'],'names':['" + lo
                + "']}},{'name':'hi','mode':'govern','weight':1.5,'selector':{'runtimes':['docker'],'names':['" + hi
                + "']}},{'name':'idle','mode':'govern','weight':2,'selector':{'runtimes':['docker'],'names':['" + idle
                + "']}},{'name':'watched','weight':3,'selector':{'runtimes':['docker'],'images':['"
                + DockerDaemon.IMAGE + "'],'labels':{'corral-test':'" + r + "'}}}";
        String policies = "'policies':{'memoryPressure':{'enabled':false},'oomProtection':{'enabled':false},"
                + "'ioFairness':{'enabled':false},'admission':{'enabled':false}}";
        String loId;
        String idleId;
        Running a = Running.start("{'classes':[" + govern + "]," + policies + "}");
        try {
            // pinned to one CPU together, so the two loops really compete (this machine has two cores)
            loId = docker.run("run", "-d", "--network", "none", "--cpuset-cpus", "1", "--name", lo, DockerDaemon.IMAGE,
                    "sh", "-c", "while :; do :; done");
            String hiId = docker.run("run", "-d", "--network", "none", "--cpuset-cpus", "1", "--name", hi,
                    DockerDaemon.IMAGE, "sh", "-c", "while :; do :; done");
            idleId = docker.run("run", "-d", "--network", "none", "--name", idle, DockerDaemon.IMAGE, "sleep", "3600");
            String seenId = docker.run("run", "-d", "--network", "none", "--label", "corral-test=" + r, "--name", seen,
                    DockerDaemon.IMAGE, "sleep", "3600");
            Path loShares = a.file("/docker/" + loId, "cpu", "cpu.shares");
            Path hiShares = a.file("/docker/" + hiId, "cpu", "cpu.shares");
            Path idleShares = a.file("/docker/" + idleId, "cpu", "cpu.shares");
            await("the govern classes' weights on the Docker cgroups", 20_000,
                    () -> number(loShares) == 512 && number(hiShares) == 1536 && number(idleShares) == 2048);

            Thread.sleep(1000); // the kernel settles on the new weights
            long lo0 = number(a.file("/docker/" + loId, "cpuacct", "cpuacct.usage"));
            long hi0 = number(a.file("/docker/" + hiId, "cpuacct", "cpuacct.usage"));
            long t0 = System.nanoTime();
            Thread.sleep(6000);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double loCores = (number(a.file("/docker/" + loId, "cpuacct", "cpuacct.usage")) - lo0) / 1e9 / seconds;
            double hiCores = (number(a.file("/docker/" + hiId, "cpuacct", "cpuacct.usage")) - hi0) / 1e9 / seconds;
            System.out.printf("docker cpu 1:3 — lo %.3f cores, hi %.3f cores, ratio hi/lo %.2f (load %s)%n", loCores,
                    hiCores, hiCores / loCores, Files.readString(Path.of("/proc/loadavg")).strip());
            assertThat(hiCores / loCores).as("usage ratio hi/lo").isBetween(2.7, 3.3);

            // observe: the decision is computed and exported as a dry run, the cgroup keeps the owner's value
            Path seenShares = a.file("/docker/" + seenId, "cpu", "cpu.shares");
            String metrics = a.metrics();
            assertThat(metrics).contains(foreignCount("set-cpu-weight", "observe")
                    + "policy=\"cpuFairness\",reason=\"class-weight\",runtime=\"docker\"}");
            assertThat(metrics).contains(foreignCount("set-cpu-weight", "govern")
                    + "policy=\"cpuFairness\",reason=\"class-weight\",runtime=\"docker\"}");
            assertThat(metrics).containsPattern("corral_policy_cpu_entitled_cores\\{id=\"/docker/" + seenId
                    + "\",name=\"" + seen + "\"\\} [0-9.E-]+");
            assertThat(number(seenShares)).as("an observed container's cpu.shares").isEqualTo(1024);

            // the owner rewrites hi's weight: the policy backs off (an audited event) and does not fight
            docker.run("update", "--cpu-shares", "300", hi);
            await("the back-off record", 10_000, () -> a.metrics().contains(foreignCount("back-off", "govern")
                    + "policy=\"foreign\",reason=\"owner-rewrote\",runtime=\"docker\"}"));
            Thread.sleep(3000); // six cycles
            assertThat(number(hiShares)).as("the owner's value is kept").isEqualTo(300);

            // the class of lo goes: its owner's value (the kernel default Docker left) comes back
            Files.writeString(a.policyFile(), ("{'classes':[" + govern.replace("'names':['" + lo + "']",
                    "'names':['nothing-" + r + "']") + "]," + policies + "}").replace('\'', '"'));
            await("lo's owner value back after its class went", 10_000, () -> number(loShares) == 1024);
            assertThat(a.metrics()).contains(foreignCount("restore", "govern")
                    + "policy=\"foreign\",reason=\"not-governed\",runtime=\"docker\"}");
            assertThat(number(idleShares)).isEqualTo(2048);
        } finally {
            a.close();
        }
        // the agent stopped: what it still held goes back to the owner
        assertThat(number(Path.of("/sys/fs/cgroup/cpu/docker", idleId, "cpu.shares"))).isEqualTo(1024);
        docker.run("rm", "-f", lo, hi, idle, seen);
    }

    /**
     * A Docker container with an owner's limit of 700 MiB that holds 512 MiB of clean page cache, under the agent's
     * parent (--cgroup-parent) whose 1 GiB another Docker container's 300 MiB makes tight: memory relief lowers
     * the owner's memory.limit_in_bytes toward its working set (the kernel reclaims the cache: relieved, no OOM
     * kill), and once the parent is no longer tight the owner's 700 MiB comes back.
     */
    @Test
    void memoryReliefSqueezesADockerContainersCacheWithoutAnOomKillAndGivesTheOwnersLimitBack() throws Exception {
        String r = UUID.randomUUID().toString().substring(0, 6);
        String cache = "fg-cache-" + r;
        String hot = "fg-hot-" + r;
        Running a = Running.start("{'classes':[{'name':'hot','mode':'govern','weight':9,'selector':{'runtimes':"
                + "['docker'],'names':['" + hot + "']}},{'name':'cache','mode':'govern','selector':{'runtimes':"
                + "['docker'],'names':['" + cache + "']}}],"
                + "'policies':{'cpuFairness':{'enabled':false},'oomProtection':{'enabled':false},"
                + "'ioFairness':{'enabled':false},'admission':{'enabled':false},'memoryPressure':{'parentUsageAbove':0.2,"
                + "'tighten':0.25,'interval':'1s','relaxAfter':'3s'}}}");
        String dockerParent = a.dirs().path + "/docker";
        try {
            Files.writeString(a.file(a.dirs().path, "memory", "memory.limit_in_bytes"), Long.toString(1L << 30));
            String cacheId = docker.run("run", "-d", "--network", "none", "--cgroup-parent", dockerParent, "-m", "700m",
                    "--name", cache, DockerDaemon.IMAGE, "sh", "-c",
                    "busybox dd if=/dev/zero of=/fill bs=1M count=512 conv=fsync 2>/dev/null; sleep 3600");
            String cg = dockerParent + "/" + cacheId;
            Path limit = a.file(cg, "memory", "memory.limit_in_bytes");
            Path usage = a.file(cg, "memory", "memory.usage_in_bytes");
            await("the cache written", 60_000, () -> number(usage) > 500L << 20);
            assertThat(number(limit)).isEqualTo(700L << 20);
            docker.run("run", "-d", "--network", "none", "--cgroup-parent", dockerParent, "--name", hot,
                    DockerDaemon.IMAGE, "busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=300M", "count=1000000");
            await("the owner's limit lowered toward the working set", 30_000, () -> number(limit) < 400L << 20);
            long squeezed = number(limit);
            System.out.printf("docker memory relief — owner's limit 700 MiB lowered to %.0f MiB, usage %.0f MiB%n",
                    squeezed / 1048576.0, number(usage) / 1048576.0);
            docker.run("rm", "-f", hot);
            await("the owner's limit back", 20_000, () -> number(limit) == 700L << 20);
            assertThat(oomKills(a.file(cg, "memory", "memory.oom_control"))).as("kernel OOM kills").isZero();
            assertThat(docker.run("inspect", "-f", "{{.State.Running}} {{.State.OOMKilled}}", cache))
                    .isEqualTo("true false");
        } finally {
            for (String c : List.of(cache, hot)) {
                try {
                    docker.run("rm", "-f", c);
                } catch (Exception e) {
                    // already gone
                }
            }
            removeDockerParent(a, dockerParent);
            Files.writeString(a.file(a.dirs().path, "memory", "memory.limit_in_bytes"), "-1");
            a.close();
        }
    }

    /**
     * A Docker container (owner's limit 1 GiB) under the agent's parent, whose limit is 400 MiB, fills its /dev/shm
     * (tmpfs: memory that cannot be reclaimed without swap) at about 40 MiB/s toward 480 MiB: OOM protection kills
     * it (every process of its cgroup) when the parent passes 80 %, before the kernel's OOM killer would act.
     */
    @Test
    void aMemoryHogInADockerContainerIsKilledByPolicyBeforeTheKernelOomKiller() throws Exception {
        String r = UUID.randomUUID().toString().substring(0, 6);
        String hog = "fg-hog-" + r;
        Running a = Running.start("{'classes':[{'name':'hog','mode':'govern','selector':{'runtimes':['docker'],"
                + "'names':['" + hog + "']}}],'policies':{'cpuFairness':{'enabled':false},'memoryPressure':"
                + "{'enabled':false},'ioFairness':{'enabled':false},'admission':{'enabled':false},"
                + "'oomProtection':{'parentUsageAbove':0.8,'cooldown':'3s'}}}");
        String dockerParent = a.dirs().path + "/docker";
        Path parentOom = a.file(a.dirs().path, "memory", "memory.oom_control");
        try {
            Files.writeString(a.file(a.dirs().path, "memory", "memory.limit_in_bytes"), Long.toString(400L << 20));
            docker.run("run", "-d", "--network", "none", "--cgroup-parent", dockerParent, "-m", "1g", "--shm-size",
                    "1g", "--name", hog, DockerDaemon.IMAGE, "sh", "-c", "i=0; while [ $i -lt 120 ]; do busybox dd "
                            + "if=/dev/zero of=/dev/shm/f$i bs=1M count=4 2>/dev/null; i=$((i+1)); sleep 0.1; done; "
                            + "sleep 3600");
            await("the hog stopped", 90_000, () -> docker.run("inspect", "-f", "{{.State.Running}}", hog)
                    .equals("false"));
            String state = docker.run("inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", hog);
            System.out.println("docker hog — exit " + state);
            assertThat(state).as("SIGKILLed by the policy, not the kernel's OOM killer").isEqualTo("137 false");
            assertThat(a.metrics()).contains(foreignCount("kill", "govern")
                    + "policy=\"oomProtection\",reason=\"parent-limit\",runtime=\"docker\"}");
            assertThat(oomKills(parentOom)).as("kernel OOM kills in the agent's parent").isZero();
        } finally {
            try {
                docker.run("rm", "-f", hog);
            } catch (Exception e) {
                // already gone
            }
            removeDockerParent(a, dockerParent);
            Files.writeString(a.file(a.dirs().path, "memory", "memory.limit_in_bytes"), "-1");
            a.close();
        }
    }

    /**
     * OOM protection with the freeze action under a govern class freezes a Docker container that fills the agent's
     * parent (400 MiB; trigger 80 %); once its class goes, the policy no longer acts on it and thaws it (audited):
     * freezer.state is THAWED and its loop counts again.
     */
    @Test
    void aContainerThePolicyFrozeIsThawedWhenItsClassGoes() throws Exception {
        String r = UUID.randomUUID().toString().substring(0, 6);
        String hog = "fg-frz-" + r;
        String policies = "'policies':{'cpuFairness':{'enabled':false},'memoryPressure':{'enabled':false},"
                + "'ioFairness':{'enabled':false},'admission':{'enabled':false},"
                + "'oomProtection':{'parentUsageAbove':0.8,'cooldown':'3s','action':'freeze'}}";
        String cls = "{'name':'hog','mode':'govern','selector':{'runtimes':['docker'],'names':['" + hog + "']}}";
        Running a = Running.start("{'classes':[" + cls + "]," + policies + "}");
        String dockerParent = a.dirs().path + "/docker";
        try {
            Files.writeString(a.file(a.dirs().path, "memory", "memory.limit_in_bytes"), Long.toString(400L << 20));
            // fills 336 MiB of /dev/shm (past the trigger, under the limit), then counts in /tmp/c
            String id = docker.run("run", "-d", "--network", "none", "--cgroup-parent", dockerParent, "-m", "1g",
                    "--shm-size", "1g", "--name", hog, DockerDaemon.IMAGE, "sh", "-c", "i=0; while [ $i -lt 84 ]; "
                            + "do busybox dd if=/dev/zero of=/dev/shm/f$i bs=1M count=4 2>/dev/null; i=$((i+1)); "
                            + "sleep 0.1; done; n=0; while :; do n=$((n+1)); echo $n > /tmp/c; sleep 0.2; done");
            Path state = a.file(dockerParent + "/" + id, "freezer", "freezer.state");
            await("the policy froze the hog", 90_000, () -> Files.readString(state).strip().equals("FROZEN"));
            assertThat(a.metrics()).contains(foreignCount("freeze", "govern")
                    + "policy=\"oomProtection\",reason=\"parent-limit\",runtime=\"docker\"}");

            Files.writeString(a.policyFile(), ("{'classes':[]," + policies + "}").replace('\'', '"'));
            await("the hog thawed after its class went", 10_000,
                    () -> Files.readString(state).strip().equals("THAWED"));
            assertThat(a.metrics()).contains(foreignCount("thaw", "govern")
                    + "policy=\"foreign\",reason=\"not-governed\",runtime=\"docker\"}");
            String pid = docker.run("inspect", "-f", "{{.State.Pid}}", hog);
            await("the hog's loop counting", 30_000, () -> count(pid) > 0);
            long first = count(pid);
            await("the hog's loop counting on", 5_000, () -> count(pid) > first);
        } finally {
            try {
                docker.run("rm", "-f", hog);
            } catch (Exception e) {
                // already gone
            }
            removeDockerParent(a, dockerParent);
            Files.writeString(a.file(a.dirs().path, "memory", "memory.limit_in_bytes"), "-1");
            a.close();
        }
    }

    /** The hog's counter, read through its init's root (no exec into a tight cgroup); 0 before it counts. */
    private static long count(String pid) {
        try {
            return Long.parseLong(Files.readString(Path.of("/proc", pid, "root/tmp/c")).strip());
        } catch (Exception e) {
            return 0;
        }
    }

    /**
     * dockerd's intermediate cgroup under the agent's parent, in every hierarchy; in name=systemd, which the agent
     * does not manage, runc made the parent itself too.
     */
    private static void removeDockerParent(Running a, String dockerParent) {
        for (var h : a.dirs().layout.hierarchies()) {
            h.dirOf(dockerParent).map(Path::toFile).ifPresent(java.io.File::delete);
            if (h.controllers().stream().allMatch(c -> c.startsWith("name="))) {
                h.dirOf(a.dirs().path).map(Path::toFile).ifPresent(java.io.File::delete);
            }
        }
    }

    private static long oomKills(Path oomControl) throws Exception {
        for (String line : Files.readAllLines(oomControl)) {
            if (line.startsWith("oom_kill ")) {
                return Long.parseLong(line.substring(9).strip());
            }
        }
        return 0;
    }
}

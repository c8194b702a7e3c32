package dev.corral.policies.engine;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.CpuSet;
import dev.corral.exporter.sample.CpuStats;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.MemoryStats;
import dev.corral.exporter.sample.Pressure;
import dev.corral.exporter.sample.PressureStats;
import dev.corral.exporter.sample.SpecStats;
import dev.corral.policies.file.Policy;
import dev.corral.policies.file.PolicyLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A recorded sample sequence, written as cumulative counters per cgroup and cycle, fed to an engine one cycle
 * at a time (time advances by the interval; no clock). Rates in the builders are per second.
 */
final class Recorded {

    static final long GIB = 1L << 30;
    static final long MIB = 1L << 20;
    static final String PARENT = "/corral";

    /** Cumulative state of one cgroup. */
    static final class Cg {
        final String path;
        long cpuNanos;
        long throttled;
        long workingSet;
        /** Charged memory, cache included; the working set when 0. */
        long usage;
        long oomKills;
        long memoryLimit = Limits.UNLIMITED;
        long shares = 1024;
        long quota = Limits.UNLIMITED;
        long cpuSome;
        long memSome;
        long memFull;
        long ioSome;
        long ioBytes;
        boolean pressure = true;
        /** No cpu files read (its usage missing from the sample). */
        boolean cpuMissing;
        /** Its effective cpuset; null: not known (any of the host's CPUs). */
        CpuSet cpus;
        /** Share of each interval some task of the cgroup waited for CPU (PSI), added every cycle. */
        double cpuStall;
        double memStall;
        double ioStall;

        /** On a bridge network: its veth's counters (what it sent, received) and its own rates, bytes per second. */
        boolean bridged;
        long txBytes;
        long rxBytes;
        long egressLimit = Limits.UNLIMITED;
        long ingressLimit = Limits.UNLIMITED;

        Cg(String path) {
            this.path = path;
        }

        CgroupSample sample(long t) {
            return new CgroupSample(path, t, 0, cpuMissing ? null : new CpuStats(cpuNanos, 0, 0, t / 100, throttled, 0),
                    new MemoryStats(usage > 0 ? usage : workingSet, workingSet, workingSet,
                            Math.max(0, usage - workingSet), 0, 0, 0, 0, oomKills, 0, 0),
                    List.of(new BlkioDevice(254, 0, 0, ioBytes, 0, 0)), null,
                    pressure ? new PressureStats(new Pressure(cpuSome, 0), new Pressure(memSome, memFull),
                            new Pressure(ioSome, 0)) : null,
                    new SpecStats(memoryLimit, Absent.VALUE, Absent.VALUE, quota, 100_000, shares, cpus));
        }
    }

    final PolicyEngine engine;
    final HostView host;
    final long intervalMillis;
    final Map<String, Cg> cgroups = new HashMap<>();
    final List<ContainerView> containers = new ArrayList<>();
    long availableBytes;
    long now = 1_000_000;
    private Snapshot previous;

    Recorded(String policyJson, HostView host, long intervalMillis, boolean dryRun) throws Exception {
        Policy p = PolicyLoader.parse("test.json", policyJson.replace('\'', '"').getBytes(StandardCharsets.UTF_8));
        this.engine = new PolicyEngine(p, dryRun);
        this.host = host;
        this.intervalMillis = intervalMillis;
        this.availableBytes = host.memoryBytes() / 2;
        cgroups.put("/", new Cg("/"));
        cgroups.put(PARENT, new Cg(PARENT));
    }

    static HostView v1Host(int cores, long memory) {
        return new HostView(cores, memory, memory / 2, false, PARENT);
    }

    Cg container(String name, Map<String, String> labels) {
        return container(name, labels, ContainerView.Baseline.NONE);
    }

    Cg container(String name, Map<String, String> labels, ContainerView.Baseline baseline) {
        Cg cg = new Cg(PARENT + "/" + name);
        cgroups.put(cg.path, cg);
        containers.add(new ContainerView(name, cg.path, labels, baseline));
        return cg;
    }

    Cg root() {
        return cgroups.get("/");
    }

    Cg parent() {
        return cgroups.get(PARENT);
    }

    /** Advances one interval: {@code step} changes the counters, then the engine decides. */
    Decision cycle(Runnable step) {
        return cycle(intervalMillis, step);
    }

    /** Advances {@code millis} (a late or a catching-up collection), then as {@link #cycle(Runnable)}. */
    Decision cycle(long millis, Runnable step) {
        if (previous == null) {
            previous = snapshot();
        }
        now += millis;
        for (Cg cg : cgroups.values()) {
            cg.cpuSome += (long) (cg.cpuStall * millis * 1000);
            cg.memSome += (long) (cg.memStall * millis * 1000);
            cg.ioSome += (long) (cg.ioStall * millis * 1000);
        }
        step.run();
        Snapshot current = snapshot();
        Map<String, NetworkSample> network = new HashMap<>();
        cgroups.forEach((p, cg) -> {
            if (cg.bridged) {
                network.put(p.substring(PARENT.length() + 1), new NetworkSample(now, cg.txBytes, cg.rxBytes,
                        cg.egressLimit, cg.ingressLimit));
            }
        });
        Decision d = engine.decide(new Observation(now, previous, current, containers,
                new HostView(host.cpuCores(), host.memoryBytes(), availableBytes, host.v2(), host.parent()), network));
        previous = current;
        return d;
    }

    /** Runs with a cpu usage rate (cores) per cgroup for one interval; the root gets the sum plus {@code other}. */
    Runnable cpu(double other, Object... pathAndCores) {
        return () -> {
            double total = other;
            for (int i = 0; i < pathAndCores.length; i += 2) {
                Cg cg = (Cg) pathAndCores[i];
                double cores = ((Number) pathAndCores[i + 1]).doubleValue();
                cg.cpuNanos += (long) (cores * intervalMillis * 1_000_000);
                total += cores;
            }
            root().cpuNanos += (long) (total * intervalMillis * 1_000_000);
        };
    }

    private Snapshot snapshot() {
        Map<String, CgroupSample> live = new HashMap<>();
        cgroups.forEach((p, cg) -> live.put(p, cg.sample(now)));
        return new Snapshot(now, live, Map.of());
    }

    static <T extends Action> List<T> of(Decision d, Class<T> type) {
        return d.actions().stream().filter(type::isInstance).map(type::cast).toList();
    }
}

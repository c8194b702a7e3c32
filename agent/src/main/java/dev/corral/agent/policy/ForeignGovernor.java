package dev.corral.agent.policy;

import dev.corral.agent.cgroup.CgroupDriver;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.cgroup.ContainerCgroup;
import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.sample.CgroupConversions;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.SpecStats;
import dev.corral.policies.engine.Action;
import dev.corral.policies.engine.Audit;
import dev.corral.policies.engine.ContainerView;
import dev.corral.policies.engine.OwnerValues;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Applies the policies to containers another runtime started, safely (see {@link OwnerValues}, which decides):
 * each knob's owner value is read before the first write, what the kernel shows after each write is kept, a
 * value the owner rewrote is left to it (back-off), and whatever still holds the policy's value goes back to the
 * owner's when the policy stops acting on the container. A container the policy froze is thawed then too (unless
 * it was frozen already, e.g. {@code docker pause}: that freeze is the owner's). Writes go through the cgroup
 * driver, on the container's own cgroup path. Blocking file IO: the policy thread only.
 */
final class ForeignGovernor {

    private final CgroupDriver driver;
    private final boolean v2;
    private final OwnerValues owners = new OwnerValues();
    /** Cgroups the policy froze (not the owner): thawed when the policy stops acting on them. */
    private final Set<String> frozen = new LinkedHashSet<>();

    ForeignGovernor(CgroupDriver driver, boolean v2) {
        this.driver = driver;
        this.v2 = v2;
    }

    /**
     * The engine's view of each foreign container. Its baseline (what a lifted limit goes back to) is the owner's:
     * the value recorded before the policy first changed a knob, else what the cgroup shows now.
     */
    List<ContainerView> views(List<ForeignSource.Subject> subjects, Snapshot now) {
        List<ContainerView> out = new ArrayList<>();
        for (ForeignSource.Subject s : subjects) {
            CgroupSample sample = now.live().get(s.cgroup());
            SpecStats spec = sample == null ? null : sample.spec();
            long period = spec != null && spec.cpuPeriodMicros() > 0 ? spec.cpuPeriodMicros()
                    : CgroupConversions.DEFAULT_CPU_PERIOD_MICROS;
            long quota = owned(s.cgroup(), v2 ? "cpu.max" : "cpu.cfs_quota_us",
                    spec == null ? Limits.UNLIMITED : spec.cpuQuotaMicros());
            long max = owned(s.cgroup(), v2 ? "memory.max" : "memory.limit_in_bytes",
                    spec == null ? Limits.UNLIMITED : spec.memoryLimit());
            long high = v2 ? owned(s.cgroup(), "memory.high", Limits.UNLIMITED) : Limits.UNLIMITED;
            long reservation = owned(s.cgroup(), v2 ? "memory.low" : "memory.soft_limit_in_bytes",
                    spec == null ? 0 : spec.memoryReservation());
            reservation = Limits.isUnlimited(reservation) || reservation < 0 ? 0 : reservation;
            // cpuShares 0: the class's weight applies (the owner's shares come back through OwnerValues)
            out.add(new ContainerView(s.cgroup(), s.cgroup(), s.labels(), new ContainerView.Baseline(
                    quota < 0 ? Limits.UNLIMITED : quota, period, 0, max, high, reservation, Map.of(),
                    spec == null ? null : spec.cpus()),
                    new ContainerView.Foreign(s.runtime(), s.name(), s.image(), s.namespace())));
        }
        return out;
    }

    /** The owner's value of a knob the policy holds, as a number; {@code otherwise} when it holds none. */
    private long owned(String cgroup, String knob, long otherwise) {
        String v = owners.ownerValue(cgroup, knob);
        if (v == null) {
            return otherwise;
        }
        String first = v.split(" ")[0];
        if (first.equals("max")) {
            return Limits.UNLIMITED;
        }
        try {
            return Limits.normalizeV1Memory(Long.parseLong(first));
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    /**
     * Applies one action to a governed foreign container. False when the policy backed off from a knob it
     * touches: the owner holds it now, and nothing is written.
     */
    boolean apply(Action a) throws CgroupException {
        ContainerCgroup cg = driver.openPath(a.cgroup());
        if (a instanceof Action.Stop s) {
            if (s.freeze()) {
                if (!cg.frozen()) {
                    cg.freeze();
                    frozen.add(a.cgroup());
                }
            } else {
                cg.killAll();
            }
            return true;
        }
        Set<String> knobs = knobsOf(a);
        for (String k : knobs) {
            if (!owners.mayWrite(a.cgroup(), k)) {
                return false;
            }
        }
        Map<String, String> before = read(cg, knobs);
        cg.update(PolicyActions.limitsOf(a));
        Map<String, String> after = read(cg, knobs);
        for (String k : knobs) {
            if (before.get(k) != null && after.get(k) != null) {
                owners.wrote(a.cgroup(), k, before.get(k), after.get(k));
            }
        }
        return true;
    }

    /**
     * Once per cycle: backs off from every knob whose owner rewrote it, then gives the owner's values back on
     * each container the policy no longer governs. Returns the audit records of both.
     *
     * @param governed cgroups of the foreign containers a govern class selects now
     * @param live     cgroups that exist now (a gone container has nothing to restore)
     */
    List<Audit> review(long nowMillis, Set<String> governed, Set<String> live) {
        List<Audit> out = new ArrayList<>();
        for (String cgroup : owners.cgroups()) {
            if (!live.contains(cgroup)) {
                continue;
            }
            ContainerCgroup cg = driver.openPath(cgroup);
            out.addAll(owners.check(nowMillis, cgroup, cgroup, read(cg, owners.heldKnobs(cgroup))));
            if (!governed.contains(cgroup)) {
                out.addAll(release(nowMillis, cg, "not-governed"));
            }
        }
        owners.retain(live);
        frozen.retainAll(live);
        for (String cgroup : List.copyOf(frozen)) {
            if (!governed.contains(cgroup)) {
                thaw(nowMillis, cgroup, driver.openPath(cgroup), "not-governed").ifPresent(out::add);
            }
        }
        return out;
    }

    /** The policy stops acting on every container (the agent is stopping): owners' values back. */
    List<Audit> releaseAll(long nowMillis) {
        List<Audit> out = new ArrayList<>();
        for (String cgroup : owners.cgroups()) {
            ContainerCgroup cg = driver.openPath(cgroup);
            if (cg.exists()) {
                out.addAll(owners.check(nowMillis, cgroup, cgroup, read(cg, owners.heldKnobs(cgroup))));
                out.addAll(release(nowMillis, cg, "agent-stopping"));
            }
        }
        for (String cgroup : List.copyOf(frozen)) {
            ContainerCgroup cg = driver.openPath(cgroup);
            if (cg.exists()) {
                thaw(nowMillis, cgroup, cg, "agent-stopping").ifPresent(out::add);
            }
        }
        frozen.clear();
        return out;
    }

    /**
     * Thaws a container the policy froze and forgets it; audited. One the owner thawed meanwhile (e.g.
     * {@code docker unpause}) is only forgotten.
     */
    private java.util.Optional<Audit> thaw(long nowMillis, String cgroup, ContainerCgroup cg, String reason) {
        frozen.remove(cgroup);
        Map<String, Object> in = Map.of("knob", v2 ? "cgroup.freeze" : "freezer.state");
        try {
            if (!cg.frozen()) {
                return java.util.Optional.empty();
            }
            cg.thaw();
        } catch (CgroupException e) {
            return java.util.Optional.of(new Audit(nowMillis, OwnerValues.NAME, cgroup, "thaw-failed", reason,
                    "frozen", "frozen", Map.of("knob", in.get("knob"), "error", String.valueOf(e.getMessage())),
                    false));
        }
        return java.util.Optional.of(new Audit(nowMillis, OwnerValues.NAME, cgroup, "thaw", reason, "frozen",
                "thawed", in, false));
    }

    private List<Audit> release(long nowMillis, ContainerCgroup cg, String reason) {
        List<Audit> out = new ArrayList<>();
        for (OwnerValues.Restore r : owners.release(cg.path())) {
            String now = cg.knob(r.knob());
            boolean ours = r.ours().equals(now);
            if (ours) {
                try {
                    restore(cg, r);
                } catch (CgroupException e) {
                    out.add(new Audit(nowMillis, OwnerValues.NAME, cg.path(), "restore-failed", reason, r.ours(),
                            r.owner(), Map.of("knob", r.knob(), "error", String.valueOf(e.getMessage())), false));
                    continue;
                }
            }
            out.add(OwnerValues.restored(nowMillis, cg.path(), r, reason, ours));
        }
        return out;
    }

    /** Writes the owner's value back; multi-device files (v1 blkio throttles, v2 io.max) one device a write. */
    private static void restore(ContainerCgroup cg, OwnerValues.Restore r) throws CgroupException {
        boolean blkio = r.knob().startsWith("blkio.throttle.");
        if (!blkio && !r.knob().equals("io.max")) {
            cg.setKnob(r.knob(), r.owner());
            return;
        }
        Map<String, String> owner = devices(r.owner());
        for (String dev : devices(r.ours()).keySet()) {
            if (!owner.containsKey(dev)) {
                cg.setKnob(r.knob(), dev + (blkio ? " 0" : " rbps=max wbps=max riops=max wiops=max"));
            }
        }
        for (Map.Entry<String, String> e : owner.entrySet()) {
            cg.setKnob(r.knob(), e.getKey() + " " + e.getValue());
        }
    }

    private static Map<String, String> devices(String content) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : content.split("\n")) {
            String[] kv = line.strip().split(" ", 2);
            if (kv.length == 2 && kv[0].matches("[0-9]+:[0-9]+")) {
                out.put(kv[0], kv[1]);
            }
        }
        return out;
    }

    /** The control files an action writes. */
    Set<String> knobsOf(Action a) {
        Set<String> k = new LinkedHashSet<>();
        if (a instanceof Action.SetCpu c) {
            if (c.quotaMicros() != null || c.periodMicros() != null) {
                if (v2) {
                    k.add("cpu.max");
                } else {
                    k.add("cpu.cfs_quota_us");
                    if (c.periodMicros() != null) {
                        k.add("cpu.cfs_period_us");
                    }
                }
            }
            if (c.shares() != null || c.weight() != null) {
                k.add(v2 ? "cpu.weight" : "cpu.shares");
            }
        } else if (a instanceof Action.SetMemory m) {
            if (m.high() != null) {
                k.add("memory.high");
            }
            if (m.softLimit() != null) {
                k.add(v2 ? "memory.low" : "memory.soft_limit_in_bytes");
            }
            if (m.limit() != null) {
                k.add(v2 ? "memory.max" : "memory.limit_in_bytes");
            }
        } else if (a instanceof Action.SetIo io) {
            if (v2) {
                k.add("io.max");
            } else {
                if (io.readBps() != null) {
                    k.add("blkio.throttle.read_bps_device");
                }
                if (io.writeBps() != null) {
                    k.add("blkio.throttle.write_bps_device");
                }
            }
        }
        return k;
    }

    private static Map<String, String> read(ContainerCgroup cg, Set<String> knobs) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String k : knobs) {
            String v = cg.knob(k);
            if (v != null) {
                out.put(k, v);
            }
        }
        return out;
    }
}

package dev.corral.agent.api;

import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.Limits;
import dev.corral.exporter.sample.NetInterface;
import io.vertx.core.json.JsonObject;

/** A container's usage as the stats endpoint reports it, from the collector's last two snapshots. */
final class ContainerStats {

    private ContainerStats() {
    }

    /** Null when the collector has not seen the cgroup (yet). */
    static JsonObject of(String name, String cgroup, Snapshot previous, Snapshot current) {
        CgroupSample now = current.live().get(cgroup);
        if (now == null) {
            return null;
        }
        CgroupSample before = previous == null ? null : previous.live().get(cgroup);
        JsonObject out = new JsonObject().put("name", name).put("timestampMillis", now.timestampMillis());
        if (now.cpu() != null) {
            JsonObject cpu = new JsonObject();
            putNanos(cpu, "usageSeconds", now.cpu().usageNanos());
            if (before != null && before.cpu() != null && !Absent.is(now.cpu().usageNanos())
                    && now.timestampMillis() > before.timestampMillis()) {
                double cores = (now.cpu().usageNanos() - before.cpu().usageNanos()) / 1e6
                        / (now.timestampMillis() - before.timestampMillis());
                cpu.put("cores", Math.max(0, cores));
            }
            put(cpu, "throttledPeriods", now.cpu().throttledPeriods());
            putNanos(cpu, "throttledSeconds", now.cpu().throttledNanos());
            out.put("cpu", cpu);
        }
        if (now.memory() != null) {
            JsonObject mem = new JsonObject();
            put(mem, "usageBytes", now.memory().usage());
            put(mem, "workingSetBytes", now.memory().workingSet());
            if (now.spec() != null && !Absent.is(now.spec().memoryLimit())
                    && !Limits.isUnlimited(now.spec().memoryLimit())) {
                mem.put("limitBytes", now.spec().memoryLimit());
                mem.put("percent", 100.0 * now.memory().usage() / now.spec().memoryLimit());
            }
            put(mem, "oomKills", now.memory().oomKills());
            out.put("memory", mem);
        }
        if (now.blkio() != null) {
            long read = 0;
            long written = 0;
            for (BlkioDevice d : now.blkio()) {
                read += d.readBytes();
                written += d.writeBytes();
            }
            out.put("io", new JsonObject().put("readBytes", read).put("writeBytes", written));
        }
        java.util.List<NetInterface> nets = current.network().get(cgroup);
        if (nets != null) {
            long received = 0;
            long sent = 0;
            for (NetInterface n : nets) {
                received += n.receiveBytes();
                sent += n.transmitBytes();
            }
            out.put("network", new JsonObject().put("receiveBytes", received).put("transmitBytes", sent));
        }
        if (now.pids() != null) {
            JsonObject pids = new JsonObject().put("current", now.pids().current());
            if (!Absent.is(now.pids().max()) && !Limits.isUnlimited(now.pids().max())) {
                pids.put("max", now.pids().max());
            }
            out.put("pids", pids);
        }
        return out;
    }

    private static void put(JsonObject o, String key, long v) {
        if (!Absent.is(v)) {
            o.put(key, v);
        }
    }

    private static void putNanos(JsonObject o, String key, long nanos) {
        if (!Absent.is(nanos)) {
            o.put(key, nanos / 1e9);
        }
    }
}

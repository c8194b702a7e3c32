package dev.corral.agent.web;

import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.BlkioDevice;
import dev.corral.exporter.sample.CgroupSample;
import dev.corral.exporter.sample.Limits;
import dev.corral.policies.file.Policy;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/**
 * One cgroup's row of the page's table for one cycle (rates over the interval since the previous snapshot), and
 * its values for {@link History}. Numbers only, no formatting: the page formats, and tests compare with /metrics.
 */
final class Rows {

    /**
     * Decimals the page is sent, per {@link History#CGROUP} field (0.1 ms of CPU a second, whole bytes, 0.1 % of
     * periods): an idle cgroup's row stays the same from cycle to cycle, so the stream leaves it out.
     */
    private static final int[] DECIMALS = {4, 0, 0, 0, 0, 3, 0};

    private Rows() {
    }

    private static double rounded(float v, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(v * scale) / scale;
    }

    /**
     * The cgroup's values in {@link History#CGROUP} order; NaN where unknown. Rates need two samples at least half
     * an interval apart: a collector catching up after a stall publishes cycles milliseconds apart, whose samples
     * were read further apart than their timestamps say (rates of hundreds of cores, seen on a loaded host).
     */
    static float[] values(CgroupSample now, CgroupSample before, long intervalMillis) {
        return values(now, before, intervalMillis, null);
    }

    /**
     * @param base   the sample rates are measured from (the last one that gave rates), or null
     * @param carried the values given with {@code base}'s rates: when {@code now} is too close to {@code base}, its
     *               rates are carried over (no gap in the charts) and {@code base} stays the base
     * @return the values; {@link #newBase} says whether {@code now} becomes the next base
     */
    static float[] values(CgroupSample now, CgroupSample base, long intervalMillis, float[] carried) {
        long millis = base == null ? 0 : now.timestampMillis() - base.timestampMillis();
        if (base != null && millis < intervalMillis / 2) {
            float[] v = values(now, null, intervalMillis);
            if (carried != null) {
                for (int f : RATE_FIELDS) {
                    v[f] = carried[f];
                }
            }
            return v;
        }
        return rawValues(now, base, intervalMillis);
    }

    /** The fields that are rates over an interval (cpu, io read, io write, throttled share). */
    static final int[] RATE_FIELDS = {0, 3, 4, 5};

    /** Whether values at {@code now} were measured from {@code base} (or there was none): now is the next base. */
    static boolean newBase(CgroupSample now, CgroupSample base, long intervalMillis) {
        return base == null || now.timestampMillis() - base.timestampMillis() >= intervalMillis / 2;
    }

    private static float[] rawValues(CgroupSample now, CgroupSample before, long intervalMillis) {
        float[] v = new float[History.CGROUP_FIELDS];
        java.util.Arrays.fill(v, Float.NaN);
        long millis = before == null ? 0 : now.timestampMillis() - before.timestampMillis();
        double seconds = millis / 1000.0;
        boolean rates = millis > 0 && millis >= intervalMillis / 2;
        if (now.cpu() != null) {
            if (rates && before.cpu() != null) {
                v[0] = rate(now.cpu().usageNanos(), before.cpu().usageNanos(), seconds * 1e9);
                long periods = now.cpu().periods() - before.cpu().periods();
                long throttled = now.cpu().throttledPeriods() - before.cpu().throttledPeriods();
                if (known(now.cpu().periods(), before.cpu().periods(), now.cpu().throttledPeriods(),
                        before.cpu().throttledPeriods()) && periods >= 0 && throttled >= 0) {
                    v[5] = periods == 0 ? 0 : (float) throttled / periods;
                }
            }
        }
        if (now.memory() != null) {
            v[1] = value(now.memory().usage());
            v[2] = value(now.memory().workingSet());
        }
        if (now.blkio() != null && rates && before.blkio() != null) {
            v[3] = rate(sum(now, true), sum(before, true), seconds);
            v[4] = rate(sum(now, false), sum(before, false), seconds);
        }
        if (now.pids() != null) {
            v[6] = value(now.pids().current());
        }
        return v;
    }

    /**
     * The table's row. {@code record} is null for cgroups the runtime does not own; {@code policy} null without a
     * policy loop; {@code entitled} the policy's CPU entitlement in cores, or null.
     */
    static JsonObject row(String name, CgroupSample s, float[] v, boolean live, ContainerRecord record,
                          Policy policy, Double entitled) {
        JsonObject o = new JsonObject().put("id", s.path()).put("name", name)
                .put("state", record != null ? record.state().label() : live ? "live" : "gone");
        if (record != null && policy != null) {
            Map<String, String> labels = record.spec().labels() == null ? Map.of() : record.spec().labels();
            o.put("cls", policy.classOf(record.name(), labels).name());
        }
        for (int f = 0; f < History.CGROUP_FIELDS; f++) {
            if (!Float.isNaN(v[f])) {
                o.put(History.CGROUP[f], rounded(v[f], DECIMALS[f]));
            }
        }
        if (s.memory() != null) {
            o.put("mem", s.memory().usage()); // exact, as /metrics has it (the float above rounds)
            o.put("ws", s.memory().workingSet());
            putKnown(o, "oom", s.memory().oomKills());
        }
        if (s.cpu() != null) {
            putKnown(o, "thrN", s.cpu().throttledPeriods());
            if (!Absent.is(s.cpu().throttledNanos())) {
                o.put("thrSec", s.cpu().throttledNanos() / 1e9);
            }
        }
        if (s.spec() != null) {
            long mem = s.spec().memoryLimit();
            if (!Absent.is(mem) && !Limits.isUnlimited(mem)) {
                o.put("memLim", mem);
            }
            long quota = s.spec().cpuQuotaMicros();
            long period = s.spec().cpuPeriodMicros();
            if (!Absent.is(quota) && !Limits.isUnlimited(quota) && quota > 0 && period > 0) {
                o.put("cpuLim", (double) quota / period);
            }
        }
        if (s.pids() != null && !Absent.is(s.pids().max()) && !Limits.isUnlimited(s.pids().max())) {
            o.put("pidsLim", s.pids().max());
        }
        if (entitled != null) {
            o.put("ent", entitled);
        }
        return o;
    }

    /** Each cgroup of the snapshot, live and recently gone. */
    static void forEach(Snapshot current, RowConsumer each) {
        current.live().forEach((path, s) -> each.accept(s, true));
        current.recent().forEach((path, s) -> each.accept(s, false));
    }

    interface RowConsumer {
        void accept(CgroupSample sample, boolean live);
    }

    private static long sum(CgroupSample s, boolean read) {
        long total = 0;
        for (BlkioDevice d : s.blkio()) {
            long v = read ? d.readBytes() : d.writeBytes();
            if (Absent.is(v)) {
                return Absent.VALUE;
            }
            total += v;
        }
        return total;
    }

    private static boolean known(long... values) {
        for (long v : values) {
            if (Absent.is(v)) {
                return false;
            }
        }
        return true;
    }

    private static float rate(long now, long before, double per) {
        return Absent.is(now) || Absent.is(before) || now < before ? Float.NaN : (float) ((now - before) / per);
    }

    private static float value(long v) {
        return Absent.is(v) ? Float.NaN : v;
    }

    private static void putKnown(JsonObject o, String key, long v) {
        if (!Absent.is(v)) {
            o.put(key, v);
        }
    }
}

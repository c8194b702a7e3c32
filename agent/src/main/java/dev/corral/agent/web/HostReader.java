package dev.corral.agent.web;

import dev.corral.exporter.read.HostPressureReader;
import dev.corral.exporter.read.ReadBuffer;
import dev.corral.exporter.sample.Pressure;
import dev.corral.exporter.sample.PressureStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The host view's figures from procfs, as rates over the last call: CPU, memory, block IO (whole disks), network
 * (all interfaces but lo), PSI, and the agent's own CPU and RSS. Owned by one thread.
 */
final class HostReader {

    /** USER_HZ: /proc/stat and /proc/self/stat count in 1/100 s on every Linux architecture we run on. */
    private static final double SECONDS_PER_TICK = 0.01;

    private final Path proc;
    private final Path sysBlock;
    private final HostPressureReader pressure;
    private final ReadBuffer buffer = new ReadBuffer(4096);
    private long lastMillis;
    private long[] last; // busy ticks, disk read/written sectors, net rx/tx, self ticks, psi micros x5
    private final float[] out = new float[History.HOST_FIELDS];
    private final float[] rates = new float[History.HOST_FIELDS]; // the last read's, carried over a read too soon
    private static final int[] RATES = {History.H_CPU, History.H_IO_READ, History.H_IO_WRITE, History.H_NET_RX,
        History.H_NET_TX, History.H_SELF_CPU, History.H_PSI_CPU_SOME, History.H_PSI_CPU_SOME + 1,
        History.H_PSI_CPU_SOME + 2, History.H_PSI_CPU_SOME + 3, History.H_PSI_CPU_SOME + 4};

    private final long minMillis;

    /** @param intervalMillis rates are over at least half of it */
    HostReader(Path procRoot, Path sysBlock, long intervalMillis) {
        this.minMillis = intervalMillis / 2;
        this.proc = procRoot;
        this.sysBlock = sysBlock;
        this.pressure = new HostPressureReader(procRoot.resolve("pressure"));
    }

    /**
     * The host's values now, in {@link History#HOST} order; NaN where not known (yet). Rates are over the time
     * between the reads, not between snapshots (the page may handle a snapshot late), and at least half an interval:
     * over the few milliseconds between two snapshots handled back to back, 10 ms ticks made rates of 8 cores.
     */
    float[] read() {
        long nowMillis = System.nanoTime() / 1_000_000;
        long[] now = new long[11];
        java.util.Arrays.fill(now, -1);
        java.util.Arrays.fill(out, Float.NaN);
        try {
            String[] cpu = Files.readAllLines(proc.resolve("stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i <= 8 && i < cpu.length; i++) {
                if (i != 4 && i != 5) { // idle, iowait
                    busy += Long.parseLong(cpu[i]);
                }
            }
            now[0] = busy;
        } catch (IOException | RuntimeException e) {
            // stays unknown
        }
        meminfo();
        disks(now);
        net(now);
        self(now);
        PressureStats p = pressure.read(buffer, (file, cause) -> { });
        if (p != null) {
            put(now, 6, p.cpu(), false);
            put(now, 7, p.memory(), false);
            put(now, 8, p.memory(), true);
            put(now, 9, p.io(), false);
            put(now, 10, p.io(), true);
        }
        if (last != null && nowMillis - lastMillis < minMillis) {
            // too soon for rates: the last ones hold (no gap in the charts), the next read measures from that one
            for (int f : RATES) {
                out[f] = rates[f];
            }
            return out.clone();
        }
        if (last != null) {
            double seconds = (nowMillis - lastMillis) / 1000.0;
            out[History.H_CPU] = rate(now, 0, seconds * (1 / SECONDS_PER_TICK));
            out[History.H_IO_READ] = rate(now, 1, seconds / 512.0);
            out[History.H_IO_WRITE] = rate(now, 2, seconds / 512.0);
            out[History.H_NET_RX] = rate(now, 3, seconds);
            out[History.H_NET_TX] = rate(now, 4, seconds);
            out[History.H_SELF_CPU] = rate(now, 5, seconds * (1 / SECONDS_PER_TICK));
            for (int i = 0; i < 5; i++) { // a share of time: the kernel's totals lag a little, so cap at all of it
                out[History.H_PSI_CPU_SOME + i] = Math.min(1f, rate(now, 6 + i, seconds * 1e6));
            }
        }
        last = now;
        lastMillis = nowMillis;
        System.arraycopy(out, 0, rates, 0, out.length);
        return out.clone();
    }

    private float rate(long[] now, int i, double per) {
        return now[i] < 0 || last[i] < 0 || now[i] < last[i] ? Float.NaN : (float) ((now[i] - last[i]) / per);
    }

    private static void put(long[] now, int i, Pressure p, boolean full) {
        if (p != null) {
            long v = full ? p.fullMicros() : p.someMicros();
            now[i] = v < 0 ? -1 : v;
        }
    }

    private void meminfo() {
        try {
            long total = -1;
            long available = -1;
            long cached = 0;
            for (String line : Files.readAllLines(proc.resolve("meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    total = kb(line);
                } else if (line.startsWith("MemAvailable:")) {
                    available = kb(line);
                } else if (line.startsWith("Cached:") || line.startsWith("Buffers:")) {
                    cached += kb(line);
                }
            }
            if (total >= 0 && available >= 0) {
                out[History.H_MEM_USED] = total - available; // what cannot be reclaimed easily: the working set
                out[History.H_MEM_AVAILABLE] = available;
                out[History.H_MEM_CACHE] = cached;
            }
        } catch (IOException | RuntimeException e) {
            // stays unknown
        }
    }

    private static long kb(String line) {
        String[] f = line.trim().split("\\s+");
        return Long.parseLong(f[1]) * 1024;
    }

    /** Whole disks only (those with a device behind them): partitions, loop and dm devices would count twice. */
    private void disks(long[] now) {
        try {
            long read = 0;
            long written = 0;
            for (String line : Files.readAllLines(proc.resolve("diskstats"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 9 && Files.exists(sysBlock.resolve(f[2]).resolve("device"))) {
                    read += Long.parseLong(f[5]);
                    written += Long.parseLong(f[9]);
                }
            }
            now[1] = read;
            now[2] = written;
        } catch (IOException | RuntimeException e) {
            // stays unknown
        }
    }

    private void net(long[] now) {
        try {
            long rx = 0;
            long tx = 0;
            List<String> lines = Files.readAllLines(proc.resolve("net/dev"));
            for (String line : lines.subList(Math.min(2, lines.size()), lines.size())) {
                int colon = line.indexOf(':');
                if (colon < 0 || line.substring(0, colon).trim().equals("lo")) {
                    continue;
                }
                String[] f = line.substring(colon + 1).trim().split("\\s+");
                rx += Long.parseLong(f[0]);
                tx += Long.parseLong(f[8]);
            }
            now[3] = rx;
            now[4] = tx;
        } catch (IOException | RuntimeException e) {
            // stays unknown
        }
    }

    private void self(long[] now) {
        try {
            String stat = Files.readString(proc.resolve("self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            now[5] = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14 and 15)
            for (String line : Files.readAllLines(proc.resolve("self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    out[History.H_SELF_RSS] = kb(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            // stays unknown
        }
    }
}

package dev.corral.agent.web;

import dev.corral.exporter.read.HostPressureReader;
import dev.corral.exporter.read.KernelFile;
import dev.corral.exporter.read.Numbers;
import dev.corral.exporter.read.ReadBuffer;
import dev.corral.exporter.sample.Pressure;
import dev.corral.exporter.sample.PressureStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The host view's figures from procfs, as rates over the last call: CPU, memory, block IO (whole disks), network
 * (all interfaces but lo), PSI, and the agent's own CPU and RSS. Owned by one thread.
 */
final class HostReader implements AutoCloseable {

    private static final byte[] MEM_TOTAL = bytes("MemTotal:");
    private static final byte[] MEM_AVAILABLE = bytes("MemAvailable:");
    private static final byte[] CACHED = bytes("Cached:");
    private static final byte[] BUFFERS = bytes("Buffers:");
    private static final byte[] VM_RSS = bytes("VmRSS:");

    /** USER_HZ: /proc/stat and /proc/self/stat count in 1/100 s on every Linux architecture we run on. */
    private static final double SECONDS_PER_TICK = 0.01;

    private final Path sysBlock;
    // Kept open and read into one buffer, parsed as bytes: read every cycle, Files.readAllLines and split cost this
    // thread more than the kernel's formatting of the files (docs/benchmarks.md, collection).
    private final KernelFile stat;
    private final KernelFile meminfo;
    private final KernelFile diskstats;
    private final KernelFile netDev;
    private final KernelFile selfStat;
    private final KernelFile selfStatus;
    private final Map<String, Boolean> wholeDisks = new HashMap<>();
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

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** @param intervalMillis rates are over at least half of it */
    HostReader(Path procRoot, Path sysBlock, long intervalMillis) {
        this.minMillis = intervalMillis / 2;
        this.sysBlock = sysBlock;
        this.stat = open(procRoot.resolve("stat"));
        this.meminfo = open(procRoot.resolve("meminfo"));
        this.diskstats = open(procRoot.resolve("diskstats"));
        this.netDev = open(procRoot.resolve("net/dev"));
        this.selfStat = open(procRoot.resolve("self/stat"));
        this.selfStatus = open(procRoot.resolve("self/status"));
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
        now[0] = cpuBusy();
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

    /** The "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal, busy = all but idle and iowait. */
    private long cpuBusy() {
        if (!read(stat)) {
            return -1;
        }
        byte[] b = buffer.bytes();
        int end = Numbers.lineEnd(b, 0, buffer.length());
        long busy = 0;
        int at = Numbers.tokenEnd(b, Numbers.skipSpaces(b, 0, end), end); // "cpu"
        for (int i = 1; i <= 8; i++) {
            int from = Numbers.skipSpaces(b, at, end);
            at = Numbers.tokenEnd(b, from, end);
            if (from == at) {
                break;
            }
            if (i != 4 && i != 5) { // idle, iowait
                busy += number(b, from, at);
            }
        }
        return busy;
    }

    private void meminfo() {
        if (!read(meminfo)) {
            return;
        }
        byte[] b = buffer.bytes();
        int len = buffer.length();
        long total = -1;
        long available = -1;
        long cached = 0;
        for (int line = 0; line < len; line = Numbers.lineEnd(b, line, len) + 1) {
            if (startsWith(b, line, len, MEM_TOTAL)) {
                total = kb(b, line + MEM_TOTAL.length, len);
            } else if (startsWith(b, line, len, MEM_AVAILABLE)) {
                available = kb(b, line + MEM_AVAILABLE.length, len);
            } else if (startsWith(b, line, len, CACHED) || startsWith(b, line, len, BUFFERS)) {
                cached += kb(b, line + (b[line] == 'C' ? CACHED.length : BUFFERS.length), len);
            }
        }
        if (total >= 0 && available >= 0) {
            out[History.H_MEM_USED] = total - available; // what cannot be reclaimed easily: the working set
            out[History.H_MEM_AVAILABLE] = available;
            out[History.H_MEM_CACHE] = cached;
        }
    }

    /** The number after {@code from} on its line, in kB, as bytes. */
    private static long kb(byte[] b, int from, int len) {
        int start = Numbers.skipSpaces(b, from, len);
        return number(b, start, Numbers.tokenEnd(b, start, len)) * 1024;
    }

    /**
     * Whole disks only (those with a device behind them): partitions, loop and dm devices would count twice. Which
     * names are whole disks is looked up in /sys once per name, not at every read.
     */
    private void disks(long[] now) {
        if (!read(diskstats)) {
            return;
        }
        byte[] b = buffer.bytes();
        int len = buffer.length();
        long read = 0;
        long written = 0;
        for (int line = 0; line < len; line = Numbers.lineEnd(b, line, len) + 1) {
            int end = Numbers.lineEnd(b, line, len);
            int at = line;
            for (int f = 0; f <= 9; f++) { // major minor name reads merged sectors ms writes merged sectors
                int from = Numbers.skipSpaces(b, at, end);
                at = Numbers.tokenEnd(b, from, end);
                if (from == at) {
                    break;
                }
                if (f == 2) {
                    if (!wholeDisk(new String(b, from, at - from, StandardCharsets.US_ASCII))) {
                        break;
                    }
                } else if (f == 5) {
                    read += number(b, from, at);
                } else if (f == 9) {
                    written += number(b, from, at);
                }
            }
        }
        now[1] = read;
        now[2] = written;
    }

    private boolean wholeDisk(String name) {
        Boolean whole = wholeDisks.get(name);
        if (whole == null) {
            whole = Files.exists(sysBlock.resolve(name).resolve("device"));
            if (wholeDisks.size() > 1024) {
                wholeDisks.clear(); // devices come and go (loop, dm): bounded
            }
            wholeDisks.put(name, whole);
        }
        return whole;
    }

    private void net(long[] now) {
        if (!read(netDev)) {
            return;
        }
        byte[] b = buffer.bytes();
        int len = buffer.length();
        long rx = 0;
        long tx = 0;
        int line = Numbers.lineEnd(b, Numbers.lineEnd(b, 0, len) + 1, len) + 1; // two header lines
        for (; line < len; line = Numbers.lineEnd(b, line, len) + 1) {
            int end = Numbers.lineEnd(b, line, len);
            int colon = line;
            while (colon < end && b[colon] != ':') {
                colon++;
            }
            int name = Numbers.skipSpaces(b, line, colon);
            if (colon == end || (colon - name == 2 && b[name] == 'l' && b[name + 1] == 'o')) {
                continue;
            }
            int at = colon + 1;
            for (int f = 0; f <= 8; f++) { // rx bytes packets errs drop fifo frame compressed multicast, tx bytes
                int from = Numbers.skipSpaces(b, at, end);
                at = Numbers.tokenEnd(b, from, end);
                if (f == 0) {
                    rx += number(b, from, at);
                } else if (f == 8) {
                    tx += number(b, from, at);
                }
            }
        }
        now[3] = rx;
        now[4] = tx;
    }

    private void self(long[] now) {
        if (read(selfStat)) {
            byte[] b = buffer.bytes();
            int len = buffer.length();
            int at = len;
            while (at > 0 && b[at - 1] != ')') {
                at--;
            }
            // after the command: state (field 3) ... utime, stime (fields 14 and 15)
            long ticks = 0;
            for (int f = 3; f <= 15 && at < len; f++) {
                int from = Numbers.skipSpaces(b, at, len);
                at = Numbers.tokenEnd(b, from, len);
                if (f >= 14) {
                    ticks += number(b, from, at);
                }
            }
            now[5] = ticks;
        }
        if (read(selfStatus)) {
            byte[] b = buffer.bytes();
            int len = buffer.length();
            for (int line = 0; line < len; line = Numbers.lineEnd(b, line, len) + 1) {
                if (startsWith(b, line, len, VM_RSS)) {
                    out[History.H_SELF_RSS] = kb(b, line + VM_RSS.length, len);
                    break;
                }
            }
        }
    }

    /** Reads a kept-open file into the buffer; false when it is absent or the read failed (values stay unknown). */
    private boolean read(KernelFile file) {
        if (file == null) {
            return false;
        }
        try {
            file.readInto(buffer);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static KernelFile open(Path path) {
        try {
            return KernelFile.openIfPresent(path);
        } catch (IOException | RuntimeException e) {
            return null; // stays unknown
        }
    }

    private static boolean startsWith(byte[] b, int at, int len, byte[] prefix) {
        if (len - at < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (b[at + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /** A non-negative decimal in {@code b[from, to)}; 0 where it is not one (a counter the kernel does not have). */
    private static long number(byte[] b, int from, int to) {
        long v = 0;
        for (int i = from; i < to; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                return 0;
            }
            v = v * 10 + d;
        }
        return v;
    }

    @Override
    public void close() {
        for (KernelFile f : new KernelFile[] {stat, meminfo, diskstats, netDev, selfStat, selfStatus}) {
            if (f != null) {
                try {
                    f.close();
                } catch (IOException e) {
                    // nothing kept
                }
            }
        }
    }
}

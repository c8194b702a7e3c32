package dev.corral.agent.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host view's figures from a proc tree: whole disks only, no lo, busy CPU without idle and iowait. */
@Tag("unit")
class HostReaderTest {

    @TempDir
    Path tmp;

    private void writeProc(Path proc, long busy, long vdaRead, long vdaWritten, long rx, long tx, long self)
            throws IOException {
        Files.createDirectories(proc.resolve("net"));
        Files.createDirectories(proc.resolve("self"));
        // user nice system idle iowait irq softirq steal: idle and iowait grow by a lot and must not count
        Files.writeString(proc.resolve("stat"), "cpu  " + busy + " 0 0 " + (busy * 50) + " " + (busy * 7)
                + " 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2 3\n");
        Files.writeString(proc.resolve("meminfo"), "MemTotal:       16000 kB\nMemFree:         1000 kB\n"
                + "MemAvailable:    6000 kB\nBuffers:          100 kB\nCached:          2000 kB\n");
        Files.writeString(proc.resolve("diskstats"),
                "   7       0 loop0 1 0 " + (vdaRead * 1000) + " 0 1 0 " + (vdaWritten * 1000) + " 0 0 0 0\n"
                + " 254       0 vda 5 0 " + vdaRead + " 3 7 0 " + vdaWritten + " 9 0 10 11 0 0 0 0\n"
                + " 254       1 vda1 5 0 " + vdaRead + " 3 7 0 " + vdaWritten + " 9 0 10 11 0 0 0 0\n");
        Files.writeString(proc.resolve("net/dev"), "Inter-|   Receive |  Transmit\n face |bytes packets\n"
                + "    lo: " + (rx * 1000) + " 1 0 0 0 0 0 0 " + (tx * 1000) + " 1 0 0 0 0 0 0\n"
                + "  eth0: " + rx + " 1 0 0 0 0 0 0 " + tx + " 1 0 0 0 0 0 0\n");
        Files.writeString(proc.resolve("self/stat"),
                "123 (java (x) y) S 1 2 3 4 5 6 7 8 9 10 " + self + " " + self + " 0 0 20 0 30\n");
        Files.writeString(proc.resolve("self/status"), "Name:\tjava\nVmPeak:\t999 kB\nVmRSS:\t   4321 kB\nVmData:\t1 kB\n");
    }

    @Test
    void readsTheHostsFiguresFromProcAsRatesBetweenReads() throws Exception {
        Path proc = tmp.resolve("proc");
        Path sysBlock = tmp.resolve("block");
        Files.createDirectories(sysBlock.resolve("vda/device"));
        Files.createDirectories(sysBlock.resolve("vda1")); // a partition: no device of its own
        Files.createDirectories(sysBlock.resolve("loop0"));
        writeProc(proc, 1000, 100, 200, 5000, 7000, 30);
        try (HostReader reader = new HostReader(proc, sysBlock, 2)) {
            float[] first = reader.read();
            assertThat(first[History.H_MEM_USED]).isEqualTo(10000 * 1024f);
            assertThat(first[History.H_MEM_AVAILABLE]).isEqualTo(6000 * 1024f);
            assertThat(first[History.H_MEM_CACHE]).as("Cached + Buffers").isEqualTo(2100 * 1024f);
            assertThat(first[History.H_SELF_RSS]).isEqualTo(4321 * 1024f);
            assertThat(first[History.H_CPU]).as("no rate from one read").isNaN();
            writeProc(proc, 1400, 150, 350, 6000, 10000, 130); // +400 busy, +50 +150 sectors, +1000 +3000 bytes
            Thread.sleep(20);
            float[] second = reader.read();
            assertThat(second[History.H_IO_READ]).isPositive();
            assertThat(second[History.H_IO_WRITE] / second[History.H_IO_READ]).as("vda alone").isCloseTo(3f, within(1e-4f));
            assertThat(second[History.H_NET_TX] / second[History.H_NET_RX]).as("eth0 alone").isCloseTo(3f, within(1e-4f));
            assertThat(second[History.H_SELF_CPU] / second[History.H_CPU]).as("200 of 400 ticks").isCloseTo(0.5f, within(1e-4f));
        }
    }
}

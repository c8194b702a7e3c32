package dev.corral.exporter.metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Host capacity from procfs: logical CPUs (cpuinfo "processor" lines) and MemTotal. */
public record MachineInfo(int cpuCores, long memoryBytes) {

    public static MachineInfo read(Path procRoot) throws IOException {
        int cores = 0;
        for (String line : Files.readAllLines(procRoot.resolve("cpuinfo"))) {
            if (line.startsWith("processor")) {
                cores++;
            }
        }
        long memory = 0;
        for (String line : Files.readAllLines(procRoot.resolve("meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                String kb = line.substring("MemTotal:".length()).trim();
                memory = Long.parseLong(kb.substring(0, kb.indexOf(' '))) * 1024;
                break;
            }
        }
        return new MachineInfo(cores, memory);
    }
}

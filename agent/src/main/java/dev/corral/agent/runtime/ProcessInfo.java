package dev.corral.agent.runtime;

import dev.corral.exporter.io.KernelText;
import java.io.IOException;
import java.nio.file.Path;

/** /proc facts about a process. */
final class ProcessInfo {

    private ProcessInfo() {
    }

    /** Start time in clock ticks since boot (/proc/PID/stat field 22), or -1 if the process is gone. */
    static long startTicks(long pid) {
        try {
            String stat = KernelText.read(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[19]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** True when pid is alive and is the same process that started at {@code ticks}. */
    static boolean isSame(Long pid, Long ticks) {
        return pid != null && ticks != null && startTicks(pid) == ticks;
    }
}

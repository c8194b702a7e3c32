package dev.corral.exporter.read;

import dev.corral.exporter.sample.Pressure;
import dev.corral.exporter.sample.PressureStats;
import java.nio.file.Path;

/** The PSI files of one cgroup2 directory (or of /proc/pressure for the host). */
final class PressureFiles {

    private static final int CPU = 0;
    private static final int MEMORY = 1;
    private static final int IO = 2;

    private final FileSet files;

    PressureFiles(Path dir, boolean procStyle) {
        files = dir == null ? FileSet.absent()
                : procStyle ? new FileSet(dir, "cpu", "memory", "io")
                : FileSet.onFirstRead(dir, "cpu.pressure", "memory.pressure", "io.pressure"); // read on a change
    }

    PressureStats read(ReadBuffer buf, ReadErrors errors) {
        Pressure cpu = one(CPU, buf, errors);
        Pressure memory = one(MEMORY, buf, errors);
        Pressure io = one(IO, buf, errors);
        return cpu == null && memory == null && io == null ? null : new PressureStats(cpu, memory, io);
    }

    private Pressure one(int index, ReadBuffer buf, ReadErrors errors) {
        return files.load(index, buf, errors) ? PressureParser.parse(buf.bytes(), buf.length()) : null;
    }

    void reopenMissing() {
        files.reopenMissing();
    }

    boolean present() {
        return files.present();
    }

    void close() {
        files.close();
    }
}

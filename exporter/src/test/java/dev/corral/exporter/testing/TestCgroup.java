package dev.corral.exporter.testing;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupLayoutDetector;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.discovery.Hierarchy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A real cgroup named {@code corral-test-*} in every hierarchy Corral reads, for tests. {@link #close()} kills
 * whatever runs inside and removes every directory, so use it in try-with-resources.
 */
public final class TestCgroup implements AutoCloseable {

    private final CgroupLayout layout;
    private final String path;
    private final List<Path> dirs = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    private TestCgroup(CgroupLayout layout, String path) {
        this.layout = layout;
        this.path = path;
    }

    public static TestCgroup create() throws IOException {
        return create(CgroupLayoutDetector.detectSystem(), "/corral-test-" + UUID.randomUUID().toString().substring(0, 8));
    }

    public static TestCgroup create(CgroupLayout layout, String path) throws IOException {
        TestCgroup cg = new TestCgroup(layout, path);
        try {
            for (Hierarchy h : layout.walked()) {
                Path dir = h.dirOf(path).orElseThrow(() -> new IOException(path + " is outside " + h));
                Files.createDirectory(dir);
                cg.dirs.add(dir);
            }
        } catch (IOException | RuntimeException e) {
            cg.close();
            throw e;
        }
        return cg;
    }

    public String path() {
        return path;
    }

    public CgroupLayout layout() {
        return layout;
    }

    /** A child cgroup (in every hierarchy), closed with its parent if not before. */
    public TestCgroup child(String name) throws IOException {
        return create(layout, path + "/" + name);
    }

    /** The directory of this cgroup in the hierarchy holding {@code controller} (the unified one for "").*/
    public Path dir(String controller) {
        Hierarchy h = controller.isEmpty() ? layout.unified().orElseThrow()
                : layout.hierarchyOf(controller).orElseThrow(() -> new IllegalStateException("no " + controller));
        return h.dirOf(path).orElseThrow();
    }

    /** Writes a control file, e.g. write("memory", "memory.limit_in_bytes", "33554432"). */
    public void write(String controller, String file, String value) throws IOException {
        Files.writeString(dir(controller).resolve(file), value, StandardOpenOption.WRITE);
    }

    public String read(String controller, String file) throws IOException {
        return Files.readString(dir(controller).resolve(file));
    }

    /** Sets a memory limit the way this layout spells it. */
    public void limitMemory(long bytes) throws IOException {
        if (layout.mode() == CgroupMode.V2) {
            write("memory", "memory.max", Long.toString(bytes));
            write("memory", "memory.swap.max", "0");
        } else {
            write("memory", "memory.limit_in_bytes", Long.toString(bytes));
        }
    }

    public void limitCpu(long quotaMicros, long periodMicros) throws IOException {
        if (layout.mode() == CgroupMode.V2) {
            write("cpu", "cpu.max", quotaMicros + " " + periodMicros);
        } else {
            write("cpu", "cpu.cfs_period_us", Long.toString(periodMicros));
            write("cpu", "cpu.cfs_quota_us", Long.toString(quotaMicros));
        }
    }

    public void limitWriteBps(String majorMinor, long bytesPerSecond) throws IOException {
        if (layout.mode() == CgroupMode.V2) {
            write("io", "io.max", majorMinor + " wbps=" + bytesPerSecond);
        } else {
            write("blkio", "blkio.throttle.write_bps_device", majorMinor + " " + bytesPerSecond);
        }
    }

    public void limitPids(long max) throws IOException {
        write("pids", "pids.max", Long.toString(max));
    }

    /**
     * Starts {@code command} inside this cgroup: a shell joins every hierarchy, then execs the command, so the
     * command never runs outside. Output goes to the test's stderr.
     */
    public Process start(String... command) throws IOException {
        Process p = startIn(dirs.stream().map(d -> d.resolve("cgroup.procs")).toList(), command);
        processes.add(p);
        return p;
    }

    /**
     * Starts {@code command} after joining the given cgroup.procs files (a shell writes its pid, then execs),
     * and returns once the process is listed in the last of them, so callers measure the command, not the
     * shell.
     */
    public static Process startIn(List<Path> procsFiles, String... command) throws IOException {
        StringBuilder script = new StringBuilder();
        for (Path procs : procsFiles) {
            script.append("echo $$ > '").append(procs).append("' || exit 99; ");
        }
        script.append("exec \"$@\"");
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", script.toString(), "sh"));
        argv.addAll(List.of(command));
        Process p = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.INHERIT)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        // 30 s: a shell's start under qemu's emulation or on a loaded host takes seconds
        long deadline = System.currentTimeMillis() + 30_000;
        Path last = procsFiles.get(procsFiles.size() - 1);
        while (p.isAlive()) { // a command that already exited (a short one, or a failed join) is the caller's to judge
            for (String line : Files.readAllLines(last)) {
                if (line.trim().equals(Long.toString(p.pid()))) {
                    return p;
                }
            }
            if (System.currentTimeMillis() > deadline) { // not silently: the caller would measure outside the cgroup
                p.destroyForcibly();
                throw new AssertionError("timed out after 30 s waiting for " + List.of(command) + " (pid " + p.pid()
                        + ") to be in " + last);
            }
            sleep(5);
        }
        return p;
    }

    /** Pids in this cgroup (from the first hierarchy). */
    public List<Long> pids() throws IOException {
        List<Long> out = new ArrayList<>();
        for (Path dir : dirs) {
            try {
                for (String line : Files.readAllLines(dir.resolve("cgroup.procs"))) {
                    if (!line.isBlank()) {
                        out.add(Long.parseLong(line.trim()));
                    }
                }
            } catch (NoSuchFileException e) {
                // removed already
            }
        }
        return out.stream().distinct().toList();
    }

    /** Kills every process inside, then removes the directories (children first if the caller made any). */
    @Override
    public void close() throws IOException {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        long deadline = System.currentTimeMillis() + 30_000; // the kill and the rmdir: seconds in qemu
        List<Long> left = pids();
        while (!left.isEmpty() && System.currentTimeMillis() < deadline) {
            for (long pid : left) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            sleep(20);
            left = pids();
        }
        for (Process p : processes) {
            try {
                p.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        IOException failure = null;
        for (Path dir : dirs) {
            try {
                removeTree(dir, deadline);
            } catch (IOException e) {
                failure = e;
            }
        }
        dirs.clear();
        if (failure != null) {
            throw failure;
        }
    }

    /** rmdir bottom-up; the kernel may answer EBUSY for a moment after the last process died. */
    private static void removeTree(Path dir, long deadline) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (var children = Files.list(dir)) {
            for (Path child : children.filter(Files::isDirectory).toList()) {
                removeTree(child, deadline);
            }
        }
        while (true) {
            try {
                Files.deleteIfExists(dir);
                return;
            } catch (IOException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IOException("cannot remove test cgroup " + dir + ": " + e.getMessage(), e);
                }
                sleep(20);
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException("interrupted"));
        }
    }
}

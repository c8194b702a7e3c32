package dev.corral.agent.runtime;

import dev.corral.agent.cgroup.ContainerCgroup;
import dev.corral.agent.cgroup.DeviceRules;
import dev.corral.agent.image.ContainerRootfs;
import dev.corral.agent.spec.Capabilities;
import dev.corral.agent.spec.ContainerConfig;
import dev.corral.agent.spec.ContainerSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Writes the NUL-separated launch config corral-shim reads (format in docs/design.md). */
final class ShimConfig {

    /** runc's default masked paths: kernel interfaces a container has no business reading. */
    static final List<String> MASKED = List.of("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
            "/sys/firmware", "/sys/devices/virtual/powercap");
    /** runc's default read-only paths. */
    static final List<String> READ_ONLY = List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger");

    static final long LOG_MAX_BYTES = 10L << 20;
    static final int LOG_MAX_FILES = 3;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream(1024);

    private ShimConfig put(String key, String value) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        out.write(k, 0, k.length);
        out.write(0);
        out.write(v, 0, v.length);
        out.write(0);
        return this;
    }

    /**
     * @param deviceFilter false only when the operator allowed unrestricted devices on a kernel without the v2 filter
     * @param image the overlay of a container made from an image, or null
     * @param init corral-init as PID 1 around the command (Docker's --init); else the command is PID 1
     */
    static void write(Path file, ContainerConfig c, ContainerCgroup cgroup, boolean deviceFilter, Capabilities caps,
                      Path logDir, Path exitFile, ContainerRootfs.Plan image, boolean init) throws IOException {
        ShimConfig s = new ShimConfig();
        c.command().forEach(a -> s.put("arg", a));
        if (init) {
            s.put("init", "1");
        }
        for (Map.Entry<String, String> e : c.env().entrySet()) {
            s.put("env", e.getKey() + "=" + e.getValue());
        }
        s.put("cwd", c.workingDir());
        c.namespaces().forEach(ns -> s.put("ns", ns));
        if (c.namespaces().contains("uts")) {
            s.put("hostname", c.hostname());
        }
        cgroup.procsFiles().forEach(p -> s.put("cgroup_procs", p.toString()));
        cgroup.deviceFilterDir().filter(d -> deviceFilter).ifPresent(d -> {
            s.put("device_cgroup", d.toString());
            DeviceRules.DEFAULT.forEach(r -> s.put("device_rule", r));
            c.deviceRules().forEach(r -> s.put("device_rule", r));
        });
        if (c.hostRoot()) {
            // The host's root is bound on a private mount point (in the container's mount namespace only), then
            // treated as any rootfs: fresh /proc, /dev and /sys, the masks, pivot_root.
            Path mountPoint = Files.createDirectories(file.resolveSibling("host-root"));
            s.put("rootfs", mountPoint.toString());
            s.put("host_root", "1");
            if (c.readOnlyRootfs()) {
                s.put("readonly_rootfs", "1");
            }
        } else if (c.rootfs() != null) {
            s.put("rootfs", c.rootfs().toString());
            if (c.readOnlyRootfs()) {
                s.put("readonly_rootfs", "1");
            }
        } else if (image != null) {
            s.put("rootfs", image.mountPoint().toString());
            image.lowers().forEach(l -> s.put("overlay_lower", l.toString()));
            if (image.upper() != null) {
                s.put("overlay_upper", image.upper().toString());
                s.put("overlay_work", image.work().toString());
            }
            if (c.readOnlyRootfs()) {
                s.put("readonly_rootfs", "1");
            }
        }
        for (ContainerConfig.MountPlan m : c.mounts()) {
            if (m.type().equals("mask")) {
                s.put("mask_path", m.target());
                continue;
            }
            String options = m.type().equals("bind") ? (m.readOnly() ? "ro" : "rw") + ",rec"
                    : m.data() + (m.readOnly() ? ",ro" : "");
            s.put("mount", m.type() + "\t" + m.source() + "\t" + m.target() + "\t" + options);
        }
        if (c.namespaces().contains("mount")) {
            MASKED.forEach(p -> s.put("mask_path", p));
            READ_ONLY.forEach(p -> s.put("readonly_path", p));
        }
        for (ContainerSpec.IdMapping m : c.uidMappings()) {
            s.put("uid_map", m.containerId() + " " + m.hostId() + " " + m.size());
        }
        for (ContainerSpec.IdMapping m : c.gidMappings()) {
            s.put("gid_map", m.containerId() + " " + m.hostId() + " " + m.size());
        }
        if (c.userName() != null) { // resolved by the shim in the container's /etc/passwd, after pivot_root
            s.put("user", c.userName());
        }
        c.rlimits().forEach(r -> s.put("rlimit", r));
        s.put("uid", Long.toString(c.uid()));
        s.put("gid", Long.toString(c.gid()));
        if (!c.groups().isEmpty()) {
            s.put("groups", String.join(",", c.groups().stream().map(String::valueOf).toList()));
        }
        c.capabilities().forEach(n -> s.put("cap", Integer.toString(caps.number(n))));
        s.put("no_new_privs", c.noNewPrivileges() ? "1" : "0");
        s.put("log_dir", logDir.toString());
        s.put("log_max_bytes", Long.toString(LOG_MAX_BYTES));
        s.put("log_max_files", Integer.toString(LOG_MAX_FILES));
        s.put("exit_file", exitFile.toString());
        Files.write(file, s.out.toByteArray());
    }

    /**
     * The keys of a container whose stdin stays open (Docker's -i): its monitor listens on {@code socket} for it
     * (shim-stdin.c); {@code once}: the end of the first connection is the end of the container's stdin.
     */
    static byte[] stdinKeys(Path socket, boolean once) {
        ShimConfig s = new ShimConfig().put("stdin_socket", socket.toString());
        if (once) {
            s.put("stdin_once", "1");
        }
        return s.out.toByteArray();
    }

    /**
     * The keys of a container made with -t but not -i: its monitor listens on {@code socket} for the terminal's
     * resizes and drops any input sent there (shim-stdin.c), so that such a container never reads a client's input.
     */
    static byte[] resizeOnlyKeys(Path socket) {
        return new ShimConfig().put("stdin_socket", socket.toString()).put("stdin_resize_only", "1").out.toByteArray();
    }

    /**
     * The keys of a container whose command has a terminal (Docker's -t; shim-stdin.c), of {@code size} ([rows,
     * columns]) from the start when given.
     */
    static byte[] ttyKeys(java.util.List<Integer> size) {
        ShimConfig s = new ShimConfig().put("tty", "1");
        if (size != null) {
            s.put("tty_rows", String.valueOf(size.get(0))).put("tty_cols", String.valueOf(size.get(1)));
        }
        return s.out.toByteArray();
    }
}

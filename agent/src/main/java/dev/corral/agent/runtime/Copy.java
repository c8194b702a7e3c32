package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import dev.corral.agent.image.ContainerRootfs;
import dev.corral.agent.spec.ContainerConfig;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code corral cp}: a container's files read and written by {@code corral-shim cp} (agent/src/main/c/shim-cp.c),
 * which resolves every path inside the container's root with openat2(RESOLVE_IN_ROOT): the agent never opens a
 * container path itself (the JDK would resolve an absolute symlink in it against the host's root). A running
 * container is reached through its init's root; a created or exited one through its overlay, which the shim mounts
 * in a mount namespace of its own (for reading, with the writable layer as one more read-only layer, so a start
 * meanwhile is not disturbed; for writing, under the container's lock, so no start mounts it at the same time),
 * with its bind mounts (-v) on it as they were, so that its volumes are seen as Docker's cp sees them.
 */
public final class Copy {

    /** Docker's PathStat (X-Docker-Container-Path-Stat): mode is Go's os.FileMode. */
    public record PathStat(String name, long size, long mode, String mtime, String linkTarget) {
        public boolean isDir() {
            return (mode & GO_DIR) != 0;
        }
    }

    private static final long GO_DIR = 1L << 31;
    private static final long GO_SYMLINK = 1L << 27;
    private static final long GO_DEVICE = 1L << 26;
    private static final long GO_PIPE = 1L << 25;
    private static final long GO_SOCKET = 1L << 24;
    private static final long GO_SETUID = 1L << 23;
    private static final long GO_SETGID = 1L << 22;
    private static final long GO_CHARDEV = 1L << 21;
    private static final long GO_STICKY = 1L << 20;

    private Copy() {
    }

    /** A record's spec with its image's defaults, validated (ContainerRuntime's). */
    interface Configs {
        ContainerConfig of(ContainerRecord r) throws SpecException, ContainerException;
    }

    static PathStat stat(RuntimeContext ctx, Shim shim, Configs configs, String name, String path)
            throws ContainerException, SpecException {
        checkPath(path);
        ContainerRecord r = ctx.load(name);
        List<String> argv = shim.cpCommand("stat", path);
        argv.addAll(rootArgs(r, configs.of(r), ctx.images, false));
        return stat(path, run(argv, null, r.name(), path));
    }

    /**
     * The shim writing a tar of {@code path} on its stdout, its top entry named as path's last component; the caller
     * owns the process and checks its exit with {@link #check}.
     */
    static Process out(RuntimeContext ctx, Shim shim, Configs configs, String name, String path)
            throws ContainerException, SpecException {
        checkPath(path);
        ContainerRecord r = ctx.load(name);
        List<String> argv = shim.cpCommand("get", path);
        argv.addAll(rootArgs(r, configs.of(r), ctx.images, false));
        try {
            return new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        } catch (IOException e) {
            throw RuntimeContext.failed("cannot copy from '" + name + "'", e);
        }
    }

    /**
     * Extracts the tar {@code archive} into the directory {@code path} of the container. A stopped container's
     * overlay is written under its lock: no start mounts it meanwhile.
     *
     * @param keepOwner the archive's owners (Docker's cp -a), else the container's root
     */
    static void in(RuntimeContext ctx, Shim shim, Configs configs, String name, String path, Path archive,
                   boolean keepOwner) throws ContainerException, SpecException {
        checkPath(path);
        if (ctx.load(name).state().isLive()) {
            in(ctx, shim, configs, ctx.load(name), path, archive, keepOwner);
            return;
        }
        synchronized (ctx.lock(name)) {
            in(ctx, shim, configs, ctx.load(name), path, archive, keepOwner);
        }
    }

    private static void in(RuntimeContext ctx, Shim shim, Configs configs, ContainerRecord r, String path,
                           Path archive, boolean keepOwner) throws ContainerException, SpecException {
        ContainerConfig config = configs.of(r);
        String clean = Path.of("/", path).normalize().toString();
        for (ContainerConfig.MountPlan m : config.mounts()) { // Docker's refusal; else the kernel's EROFS says it
            if (m.type().equals("bind") && m.readOnly() && (clean.equals(m.target())
                    || clean.startsWith(m.target().endsWith("/") ? m.target() : m.target() + "/"))) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "mounted volume is marked read-only");
            }
        }
        List<String> argv = shim.cpCommand("put", path);
        argv.addAll(rootArgs(r, config, ctx.images, true));
        if (keepOwner) {
            argv.add("--keep-owner");
        }
        run(argv, archive.toFile(), r.name(), path);
    }

    /** The shim's arguments saying where the container's root is (see shim-cp.c). */
    private static List<String> rootArgs(ContainerRecord r, ContainerConfig config, ContainerRootfs images, boolean write)
            throws ContainerException {
        String name = r.name();
        List<String> a = new ArrayList<>();
        ContainerState s = r.state();
        if (s == ContainerState.RUNNING || s == ContainerState.PAUSED) {
            if (r.initPid() == null || !ProcessInfo.isSame(r.monitorPid(), r.monitorStartTicks())) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + name
                        + "' is " + s.label() + " but its process is gone: wait for its exit to be recorded");
            }
            a.addAll(List.of("--pid", r.initPid().toString(), r.monitorPid().toString()));
        } else if (s == ContainerState.CREATED || s == ContainerState.EXITED || s == ContainerState.QUEUED) {
            if (config.hostRoot()) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + name
                        + "' runs on the host's root: copy while it is running");
            }
            if (write && config.readOnlyRootfs()) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "container rootfs is marked read-only");
            }
            if (r.spec().image() != null) {
                ContainerRootfs.Plan plan;
                try {
                    plan = images.plan(name, config.readOnlyRootfs());
                } catch (IOException e) {
                    throw RuntimeContext.failed("cannot find the root of '" + name + "'", e);
                }
                a.addAll(List.of("--rootfs", plan.mountPoint().toString()));
                if (write) {
                    plan.lowers().forEach(l -> a.addAll(List.of("--lower", l.toString())));
                    a.addAll(List.of("--upper", plan.upper().toString(), "--work", plan.work().toString()));
                } else {
                    if (plan.upper() != null) {
                        a.addAll(List.of("--lower", plan.upper().toString()));
                    }
                    plan.lowers().forEach(l -> a.addAll(List.of("--lower", l.toString())));
                }
            } else {
                a.addAll(List.of("--rootfs", config.rootfs().toString()));
            }
            // its -v mounts, as Docker's cp sees a stopped container's volumes (its tmpfs ended with it)
            for (ContainerConfig.MountPlan m : config.mounts()) {
                if (m.type().equals("bind")) {
                    a.addAll(List.of("--bind", m.readOnly() ? "ro" : "rw", m.source(), m.target()));
                }
            }
        } else {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "container '" + name + "' is "
                    + s.label() + ": copy when it is created, running or exited");
        }
        for (ContainerSpec.IdMapping m : config.uidMappings()) {
            a.addAll(List.of("--uid-map", m.containerId() + " " + m.hostId() + " " + m.size()));
        }
        for (ContainerSpec.IdMapping m : config.gidMappings()) {
            a.addAll(List.of("--gid-map", m.containerId() + " " + m.hostId() + " " + m.size()));
        }
        return a;
    }

    private static void checkPath(String path) throws SpecException {
        if (path == null || path.isEmpty()) {
            throw new SpecException("path", "a path in the container is needed");
        }
        if (path.indexOf(0) >= 0 || path.length() > 4096) {
            throw new SpecException("path", "'" + path + "' is not a path (NUL byte or over 4096 bytes)");
        }
    }

    /** Runs the shim to its end; its stdout, or its one-line error as the exception Docker's daemon gives. */
    private static byte[] run(List<String> argv, File stdin, String name, String path)
            throws ContainerException, SpecException {
        try {
            ProcessBuilder pb = new ProcessBuilder(argv).redirectInput(stdin == null
                    ? ProcessBuilder.Redirect.from(new File("/dev/null")) : ProcessBuilder.Redirect.from(stdin));
            Process p = pb.start();
            byte[] out = p.getInputStream().readAllBytes();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            check(p.waitFor(), err, name, path);
            return out;
        } catch (IOException e) {
            throw RuntimeContext.failed("cannot copy in '" + name + "'", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ContainerException(ContainerException.Kind.FAILED, "interrupted", e);
        }
    }

    /** The shim's exit status as Docker's errors: 2 not found (404), 3 a request that cannot be done (400). */
    public static void check(int code, String err, String name, String path) throws ContainerException, SpecException {
        switch (code) {
            case 0 -> {
            }
            case 2 -> throw new ContainerException(ContainerException.Kind.NOT_FOUND, "Could not find the file "
                    + path + " in container " + name);
            case 3 -> throw new SpecException("path", err);
            default -> throw new ContainerException(ContainerException.Kind.FAILED, "copy in '" + name + "': "
                    + (err.isEmpty() ? "corral-shim cp exited with " + code : err));
        }
    }

    /** The shim's "MODE SIZE MTIME" line (and a symlink's target) as Docker's PathStat. */
    private static PathStat stat(String path, byte[] out) {
        String[] lines = new String(out, StandardCharsets.UTF_8).split("\n", 2);
        String[] f = lines[0].trim().split(" ");
        long st = Long.parseLong(f[0], 8);
        long mode = st & 0777;
        int type = (int) (st & 0170000);
        mode |= switch (type) {
            case 0040000 -> GO_DIR;
            case 0120000 -> GO_SYMLINK;
            case 0010000 -> GO_PIPE;
            case 0140000 -> GO_SOCKET;
            case 0020000 -> GO_DEVICE | GO_CHARDEV;
            case 0060000 -> GO_DEVICE;
            default -> 0L;
        };
        if ((st & 04000) != 0) {
            mode |= GO_SETUID;
        }
        if ((st & 02000) != 0) {
            mode |= GO_SETGID;
        }
        if ((st & 01000) != 0) {
            mode |= GO_STICKY;
        }
        String trimmed = path.replaceAll("/+$", "");
        String base = trimmed.isEmpty() ? "/" : trimmed.substring(trimmed.lastIndexOf('/') + 1);
        String link = type == 0120000 && lines.length > 1 ? lines[1].replaceAll("\n$", "") : "";
        String mtime = java.time.Instant.ofEpochSecond(Long.parseLong(f[2])).toString();
        return new PathStat(base, Long.parseLong(f[1]), mode, mtime, link);
    }
}

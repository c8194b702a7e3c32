package dev.corral.exporter.read;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.Hierarchy;
import dev.corral.exporter.sample.NetInterface;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToLongFunction;

/**
 * Reads the network counters of every cgroup whose processes have their own network namespace, as cAdvisor does:
 * {@code /proc/<pid>/net/dev} of one process of the cgroup. Per cycle that is one readlink of the process's
 * {@code ns/net} and one read of {@code net/dev} per cgroup with a namespace of its own: the process is remembered
 * (read from {@code cgroup.procs} only when unknown, gone, or every {@link #RECHECK_CYCLES} cycles against a reused
 * pid). A cgroup without one (no process of its own, or the host's namespace) is looked at again only when its
 * task count changes, or every {@link #RECHECK_CYCLES} cycles.
 *
 * <p>A namespace shared by several cgroups (a Kubernetes pod: the sandbox and its containers) is counted once,
 * on the cgroup whose process started first, the sandbox ("pause") that made it, where cAdvisor counts it. A
 * namespace that is the reader's own (the host's: host-network containers, system services) is not counted:
 * its interfaces are the host's, which cAdvisor would otherwise repeat for every such container. Used by one
 * thread.
 */
public final class NetworkReader {

    static final int RECHECK_CYCLES = 16;
    /**
     * A new cgroup is looked at every cycle for this long: its first process may join it before it enters its
     * namespace (a runtime's init), and the one namespace it has may be the host's for a moment.
     */
    static final int YOUNG_CYCLES = 4;

    private final CgroupLayout layout;
    private final Path procRoot;
    private final long hostNetns;
    private final Map<String, Member> members = new HashMap<>();
    private final Map<Long, Member> owners = new HashMap<>();
    private long cycles;

    /** One cgroup's remembered process. */
    private static final class Member {
        final String path;
        KernelFile procs; // null until found; opened per read (no descriptor kept)
        long pid;
        long startTicks = -1;
        long netns;
        final long born;
        /**
         * The task count (pids.current) when the cgroup was last found without a namespace of its own (no process,
         * or in the host's); -2 when it has one.
         */
        long quietWith = -2;

        Member(String path, long born) {
            this.path = path;
            this.born = born;
        }
    }

    public NetworkReader(CgroupLayout layout, Path procRoot) {
        this.layout = layout;
        this.procRoot = procRoot;
        this.hostNetns = netnsOf(procRoot.resolve("self/ns/net"));
    }

    /**
     * The interfaces (without {@code lo}) of each of {@code cgroups} that owns a network namespace of its own;
     * cgroups without one are absent from the map.
     */
    public Map<String, List<NetInterface>> read(Collection<String> cgroups, ReadBuffer buffer) {
        return read(cgroups, path -> -1, buffer);
    }

    /**
     * As {@link #read(Collection, ReadBuffer)}, with each cgroup's task count in this cycle (pids.current, which
     * counts its descendants' too; -1 when unknown). A cgroup with none is not asked; one whose cgroup.procs was
     * empty (a parent: its tasks are in its children) is asked again when its count changes, or every
     * {@link #RECHECK_CYCLES} cycles, not every cycle.
     */
    public Map<String, List<NetInterface>> read(Collection<String> cgroups, ToLongFunction<String> tasksOf,
                                                ReadBuffer buffer) {
        boolean recheck = cycles++ % RECHECK_CYCLES == 0;
        members.keySet().retainAll(cgroups instanceof Set<?> ? cgroups : Set.copyOf(cgroups));
        owners.clear();
        for (String path : cgroups) {
            long tasks = path.equals("/") ? 0 : tasksOf.applyAsLong(path);
            if (tasks == 0) {
                continue; // the host itself, or nothing in it to ask
            }
            long cycle = cycles;
            Member m = members.computeIfAbsent(path, p -> new Member(p, cycle));
            if (!recheck && tasks > 0 && tasks == m.quietWith && cycle - m.born > YOUNG_CYCLES) {
                continue; // no process or the host's namespace, and nothing changed in it since
            }
            m.netns = m.pid > 0 && !recheck ? netnsOf(m.pid) : -1;
            if (m.netns < 0) {
                m.pid = firstPid(m, buffer);
                m.startTicks = -1;
                m.netns = m.pid > 0 ? netnsOf(m.pid) : -1;
            }
            if (m.netns < 0 || m.netns == hostNetns) {
                m.quietWith = tasks;
                continue;
            }
            m.quietWith = -2;
            Member other = owners.putIfAbsent(m.netns, m);
            if (other != null && startedFirst(m, other)) {
                owners.put(m.netns, m);
            }
        }
        Map<String, List<NetInterface>> out = new HashMap<>(owners.size() * 2);
        for (Member m : owners.values()) {
            KernelFile dev = KernelFile.perRead(procRoot.resolve(m.pid + "/net/dev"));
            try {
                if (dev != null) {
                    dev.readInto(buffer);
                    out.put(m.path, NetDevParser.parse(buffer.bytes(), buffer.length()));
                }
            } catch (IOException e) {
                m.pid = 0; // gone between the readlink and the read: found again next cycle
            }
        }
        return out;
    }

    /** The first process listed in the cgroup's cgroup.procs, or 0 when it has none (or is gone). */
    private long firstPid(Member m, ReadBuffer buffer) {
        if (m.procs == null) {
            m.procs = procsFile(m.path);
            if (m.procs == null) {
                return 0;
            }
        }
        try {
            m.procs.readInto(buffer);
        } catch (IOException e) {
            m.procs = null;
            return 0;
        }
        byte[] b = buffer.bytes();
        int end = Numbers.tokenEnd(b, 0, buffer.length());
        long pid = Numbers.parse(b, 0, end);
        return pid > 0 ? pid : 0;
    }

    /** cgroup.procs in the unified hierarchy, or on v1 in the first hierarchy the cgroup exists in. */
    private KernelFile procsFile(String path) {
        List<Optional<Hierarchy>> order = new ArrayList<>(List.of(layout.unified(), layout.hierarchyOf("pids"),
                layout.hierarchyOf("cpu"), layout.hierarchyOf("memory")));
        for (Hierarchy h : layout.walked()) {
            order.add(Optional.of(h));
        }
        for (Optional<Hierarchy> h : order) {
            if (h.isEmpty() || (h.get().isUnified() && layout.mode() != dev.corral.exporter.discovery.CgroupMode.V2)) {
                continue; // a hybrid host's cgroup2 mount holds no processes of the v1 hierarchies' cgroups
            }
            Optional<Path> dir = h.get().dirOf(path);
            if (dir.isPresent()) {
                KernelFile f = KernelFile.perRead(dir.get().resolve("cgroup.procs"));
                if (f != null) {
                    return f;
                }
            }
        }
        return null;
    }

    private long netnsOf(long pid) {
        return netnsOf(procRoot.resolve(pid + "/ns/net"));
    }

    /** The namespace's inode from its link text {@code net:[4026531992]}, or -1 when the process is gone. */
    private static long netnsOf(Path link) {
        try {
            String s = Files.readSymbolicLink(link).toString();
            int open = s.indexOf('[');
            return Long.parseLong(s, open + 1, s.length() - 1, 10);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** True when {@code a}'s process started before {@code b}'s (on a tie, the shorter cgroup path). */
    private boolean startedFirst(Member a, Member b) {
        long sa = startTicks(a);
        long sb = startTicks(b);
        return sa != sb ? sa < sb : a.path.length() < b.path.length();
    }

    /** Field 22 of /proc/PID/stat (after the parenthesised command, which may hold spaces). */
    private long startTicks(Member m) {
        if (m.startTicks < 0) {
            try {
                String stat = Files.readString(procRoot.resolve(m.pid + "/stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                m.startTicks = Long.parseLong(f[19]);
            } catch (IOException | RuntimeException e) {
                m.startTicks = Long.MAX_VALUE;
            }
        }
        return m.startTicks;
    }
}

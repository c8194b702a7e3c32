package dev.corral.agent.spec;

import dev.corral.exporter.io.KernelText;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/** Linux capability names and numbers (capabilities(7)), and the default set Docker and runc give. */
public final class Capabilities {

    /** Index = capability number. */
    private static final List<String> NAMES = List.of("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER",
            "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
            "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
            "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
            "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
            "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE");

    /** Docker's and runc's default capability set. */
    public static final Set<String> DEFAULT = Set.of("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD",
            "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",
            "AUDIT_WRITE");

    private final int lastCap;

    public Capabilities(int lastCap) {
        this.lastCap = Math.min(lastCap, NAMES.size() - 1);
    }

    /** The kernel's highest capability number, from /proc/sys/kernel/cap_last_cap. */
    public static Capabilities ofKernel(Path procRoot) throws IOException {
        return new Capabilities(Integer.parseInt(KernelText.read(procRoot.resolve("sys/kernel/cap_last_cap")).trim()));
    }

    /** "net_admin", "CAP_NET_ADMIN" → "NET_ADMIN"; null if this kernel has no such capability. */
    public String canonical(String name) {
        String n = name.trim().toUpperCase(Locale.ROOT);
        if (n.startsWith("CAP_")) {
            n = n.substring(4);
        }
        int i = NAMES.indexOf(n);
        return i >= 0 && i <= lastCap ? n : null;
    }

    public int number(String canonicalName) {
        return NAMES.indexOf(canonicalName);
    }

    public Set<String> all() {
        return new TreeSet<>(NAMES.subList(0, lastCap + 1));
    }

    /** The CapEff mask of a set, as /proc/PID/status prints it (16 hex digits). */
    public String mask(Set<String> names) {
        long mask = 0;
        for (String n : names) {
            mask |= 1L << number(n);
        }
        return String.format("%016x", mask);
    }
}

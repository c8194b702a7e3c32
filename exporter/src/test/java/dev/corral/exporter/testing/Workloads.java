package dev.corral.exporter.testing;

import dev.corral.exporter.discovery.CgroupLayout;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.sample.DeviceNumbers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/** Commands that load a resource, and where to write for IO tests on this machine or in the v2 VM. */
public final class Workloads {

    private Workloads() {
    }

    public static String[] busyLoop() {
        return new String[] {"/bin/sh", "-c", "while :; do :; done"};
    }

    /** dd allocates its whole block buffer and fills it from /dev/zero: {@code mib} MiB charged at once. */
    public static String[] allocate(int mib) {
        return new String[] {"dd", "if=/dev/zero", "of=/dev/null", "bs=" + mib + "M", "count=1"};
    }

    /** Direct (uncached) writes, so the block layer and its throttling see them. */
    public static String[] directWrite(Path target, int mib) {
        return new String[] {"dd", "if=/dev/zero", "of=" + target, "bs=1M", "count=" + mib, "oflag=direct",
            "status=none"};
    }

    public static boolean inV2Guest() {
        return "1".equals(System.getenv("CORRAL_V2_GUEST"));
    }

    /** A block device (or a file on one) safe to write to: the VM's scratch disk, or a temp file here. */
    public static Path writeTarget(String name) {
        String scratch = System.getenv("CORRAL_V2_SCRATCH_DEV");
        if (scratch != null && !scratch.isEmpty()) {
            return Path.of(scratch);
        }
        return Path.of("/var/tmp", name);
    }

    /** MAJ:MIN of the device {@link #writeTarget} writes to. */
    public static String writeDevice() throws IOException {
        String scratch = System.getenv("CORRAL_V2_SCRATCH_DEVNO");
        if (scratch != null && !scratch.isEmpty()) {
            return scratch;
        }
        return DeviceNumbers.format((Long) Files.getAttribute(Path.of("/var/tmp"), "unix:dev",
                LinkOption.NOFOLLOW_LINKS));
    }

    /**
     * The container spec fragment (single-quoted JSON, ending in a comma) that lets a container write to
     * {@link #writeTarget}: nothing for a file; for the v2 VM's scratch disk node, which the default device
     * allow-list refuses, a {@code security.deviceCgroupRules} entry for it.
     */
    public static String deviceRuleFor(Path target) throws IOException {
        return target.startsWith("/dev/") ? "'security':{'deviceCgroupRules':['b " + writeDevice() + " rw']}," : "";
    }

    public static void expectLayout(CgroupLayout layout) {
        if (inV2Guest() && layout.mode() != CgroupMode.V2) {
            throw new AssertionError("the v2 VM must show a pure v2 layout, found " + layout);
        }
    }
}

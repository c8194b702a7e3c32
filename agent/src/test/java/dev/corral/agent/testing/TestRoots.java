package dev.corral.agent.testing;

import java.nio.file.Path;

/**
 * The root a test container runs on: a container needs an image or a rootfs. Tests that need the host's tools (sh,
 * dd, stress-ng, fio) run on the host's root, which is read-only with a private /tmp and /run; one whose container
 * writes a host file binds that place writable ({@link #writable}). Tests that need nothing of the host use an image
 * (see {@code image.TestImages}).
 */
public final class TestRoots {

    /** The host's root, read-only: a spec fragment in single-quoted JSON as the fixtures' spec() take it. */
    public static final String HOST = "'rootfs':'host',";
    /** {@link #HOST} in plain JSON. */
    public static final String HOST_JSON = "\"rootfs\":\"host\",";
    /** {@link #HOST} as corral run's flag. */
    public static final String HOST_FLAG = "--rootfs=host";

    private TestRoots() {
    }

    /**
     * A spec fragment (single-quoted JSON, ending in a comma) that lets a container on {@link #HOST} write
     * {@code target}: a file's directory bound writable at the same path; a device node (the v2 guest's scratch
     * disk) bound as itself, which needs the override (/dev is the host's), and the device rule for it.
     */
    public static String writable(Path target, String deviceNumber) {
        if (target.startsWith("/dev/")) {
            return "'dangerouslyAllowHostPaths':true,'mounts':[" + bind(target) + "],"
                    + "'security':{'deviceCgroupRules':['b " + deviceNumber + " rw']},";
        }
        return "'mounts':[" + bind(target.getParent()) + "],";
    }

    private static String bind(Path p) {
        return "{'source':'" + p + "','target':'" + p + "','readOnly':false}";
    }
}

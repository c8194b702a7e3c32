package dev.corral.agent.runtime;

/**
 * Which spec field a corral-shim failure points at ("exec nosuch: No such file or directory" is the command's
 * fault, not the host's), so the API can answer 400 naming it rather than 500.
 */
final class LaunchFailures {

    /** Docker's exit codes for a start that failed: the command not found, found but not runnable, anything else. */
    static final int NOT_FOUND = 127;
    static final int CANNOT_INVOKE = 126;
    static final int START_FAILED = 125;

    private LaunchFailures() {
    }

    /** The exit code a failed start is recorded (and the CLI exits) with, as docker run's. */
    static int exitCode(String shimMessage) {
        if (!shimMessage.startsWith("exec ")) {
            return START_FAILED;
        }
        // corral-shim's "exec PROG: strerror(errno)": ENOENT and ENOTDIR mean there is no such command
        return shimMessage.endsWith(": No such file or directory") || shimMessage.endsWith(": Not a directory")
                ? NOT_FOUND : CANNOT_INVOKE;
    }

    /** The spec field at fault, or null when the failure is the host's. */
    static String fieldOf(String shimMessage) {
        String m = shimMessage;
        if (m.startsWith("exec ")) {
            return "command";
        }
        if (m.startsWith("chdir ") && !m.startsWith("chdir /:")) {
            return "workingDir";
        }
        if (m.startsWith("sethostname")) {
            return "hostname";
        }
        if (m.startsWith("setgid") || m.startsWith("setuid") || m.startsWith("setgroups")) {
            return "user";
        }
        if (m.startsWith("overlay:")) {
            return "image"; // too many layers for the mount options
        }
        if (m.startsWith("mount overlay")) {
            return null; // the host's filesystem under the state dir
        }
        if (m.startsWith("bind mount source") || m.startsWith("mount ") || m.startsWith("create mount point")
                || m.startsWith("remount ")) {
            return "mounts";
        }
        if (m.startsWith("bind rootfs") || m.startsWith("pivot_root")) {
            return "rootfs";
        }
        if (m.startsWith("write ") && (m.contains("uid_map") || m.contains("gid_map"))) {
            return "namespaces.user";
        }
        return null;
    }
}

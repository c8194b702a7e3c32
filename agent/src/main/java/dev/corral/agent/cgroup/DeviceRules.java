package dev.corral.agent.cgroup;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The device nodes a container may use, in the v1 {@code devices.allow} syntax ("TYPE MAJOR:MINOR ACCESS").
 * The one list both enforcements read: v1 writes it into the devices controller, and on cgroup v2 corral-shim
 * compiles it into the BPF device program it attaches to the container's cgroup. Everything else is denied.
 */
public final class DeviceRules {

    /** The rules Docker and runc allow by default. */
    public static final List<String> DEFAULT = List.of(
            "c *:* m", "b *:* m", // mknod, but no access
            "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", // null zero full random urandom
            "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", // tty console ptmx pts
            "c 10:200 rwm"); // tun

    /** The access letters may come in any order but once each (the lookahead refuses a repeated one). */
    private static final Pattern RULE =
            Pattern.compile("[abc] (\\*|[0-9]{1,9}):(\\*|[0-9]{1,9}) (?!.*(.).*\\3)[rwm]{1,3}");

    /** "TYPE MAJOR:MINOR ACCESS": TYPE a, b or c; MAJOR and MINOR a number or *; ACCESS some of r, w, m once each. */
    public static boolean isValid(String rule) {
        return RULE.matcher(rule).matches();
    }

    private DeviceRules() {
    }
}

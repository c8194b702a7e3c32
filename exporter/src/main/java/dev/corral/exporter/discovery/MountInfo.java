package dev.corral.exporter.discovery;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of {@code /proc/PID/mountinfo} (proc(5)). Example:
 * <pre>32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu</pre>
 * Fields: mount id, parent id, major:minor, root, mount point, mount options, optional fields ending with
 * "-", filesystem type, source, super options. Root and mount point escape space, tab, newline and backslash
 * as octal ({@code \040}).
 */
public record MountInfo(int mountId, int parentId, String root, String mountPoint, String fsType, String source,
                        List<String> superOptions) {

    public MountInfo {
        superOptions = List.copyOf(superOptions);
    }

    public static List<MountInfo> parseAll(String content) {
        List<MountInfo> mounts = new ArrayList<>();
        int lineNo = 0;
        for (String line : content.split("\n")) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            try {
                mounts.add(parse(line));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("mountinfo line " + lineNo + " is malformed: " + line, e);
            }
        }
        return mounts;
    }

    public static MountInfo parse(String line) {
        String[] f = line.trim().split(" ");
        int separator = -1;
        for (int i = 6; i < f.length; i++) {
            if (f[i].equals("-")) {
                separator = i;
                break;
            }
        }
        if (separator < 0 || separator + 3 >= f.length) {
            throw new IllegalArgumentException("expected 6 fields, optional fields, '-' and 3 more fields");
        }
        String superOpts = f[separator + 3];
        return new MountInfo(Integer.parseInt(f[0]), Integer.parseInt(f[1]), unescape(f[3]), unescape(f[4]),
                f[separator + 1], unescape(f[separator + 2]), List.of(superOpts.split(",")));
    }

    /** Undoes the kernel's octal escaping ({@code \040} for a space) in paths. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1)) {
                out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '7') {
                return false;
            }
        }
        return true;
    }
}

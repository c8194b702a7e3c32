package dev.corral.exporter.discovery;

/**
 * Cgroup paths are absolute, "/"-separated and relative to a hierarchy's root, as in /proc/PID/cgroup.
 * Every path that comes from a user is checked here so nothing escapes the subtree it names.
 */
public final class CgroupPaths {

    private CgroupPaths() {
    }

    /** Returns the canonical form ("/" or "/a/b", no trailing slash) or throws if it is not a clean path. */
    public static String normalize(String path) {
        if (path == null || path.isEmpty() || path.charAt(0) != '/') {
            throw new IllegalArgumentException("cgroup path must be absolute: " + path);
        }
        StringBuilder out = new StringBuilder();
        for (String part : path.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            if (part.equals(".") || part.equals("..") || part.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("cgroup path must not contain '.' or '..' segments: " + path);
            }
            out.append('/').append(part);
        }
        return out.length() == 0 ? "/" : out.toString();
    }

    /** The part of {@code path} below {@code root} ("" when equal), or null when it is not inside. */
    public static String relativeTo(String root, String path) {
        if (root.equals("/")) {
            return path.equals("/") ? "" : path.substring(1);
        }
        if (path.equals(root)) {
            return "";
        }
        if (path.startsWith(root) && path.charAt(root.length()) == '/') {
            return path.substring(root.length() + 1);
        }
        return null;
    }

    public static boolean isWithin(String root, String path) {
        return relativeTo(root, path) != null;
    }

    public static String join(String parent, String child) {
        if (child.isEmpty()) {
            return parent;
        }
        return parent.equals("/") ? "/" + child : parent + "/" + child;
    }

    public static String parentOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    public static String nameOf(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }
}

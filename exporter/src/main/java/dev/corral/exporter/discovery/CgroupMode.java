package dev.corral.exporter.discovery;

/** How the host mounts cgroups. */
public enum CgroupMode {
    /** Only v1 hierarchies. */
    V1,
    /** v1 resource controllers plus a cgroup2 mount (often {@code /sys/fs/cgroup/unified}) without them. */
    HYBRID,
    /** One cgroup2 hierarchy holding every controller. */
    V2;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}

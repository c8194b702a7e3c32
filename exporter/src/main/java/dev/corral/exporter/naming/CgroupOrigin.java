package dev.corral.exporter.naming;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a cgroup's path alone says about who made it: the runtime and container id of a Docker, Podman,
 * containerd or CRI-O container, the Kubernetes pod (uid and QoS class) it belongs to, or the systemd unit it is.
 * Pure: no file or socket is read. The same rules hold for v1 hierarchies and v2, and for the cgroupfs and
 * systemd drivers, since both only decide the directory names:
 * <ul>
 *   <li>Docker: {@code /docker/<id>} (cgroupfs), {@code .../docker-<id>.scope} (systemd, rootless too)</li>
 *   <li>Podman: {@code /machine.slice/libpod-<id>.scope}, rootless {@code /user.slice/.../libpod-<id>.scope},
 *       cgroupfs {@code /libpod_parent/libpod-<id>}</li>
 *   <li>containerd: {@code cri-containerd-<id>.scope}, nerdctl's {@code nerdctl-<id>.scope}</li>
 *   <li>CRI-O: {@code crio-<id>.scope} or {@code crio-<id>}</li>
 *   <li>Kubernetes: {@code /kubepods[/burstable|/besteffort]/pod<uid>/<id>} (cgroupfs, runtime not in the path)
 *       and {@code /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/
 *       <runtime>-<id>.scope} (systemd); a pod directly under kubepods is Guaranteed</li>
 *   <li>systemd units: a last component ending in {@code .service}, {@code .scope}, {@code .slice} (and the
 *       other unit types that get cgroups: {@code .socket}, {@code .mount}, {@code .swap}) is that unit</li>
 * </ul>
 * Only the container's own cgroup carries its id: cgroups a container makes inside itself are not it.
 *
 * @param runtime     {@link #DOCKER}, {@link #PODMAN}, {@link #CONTAINERD}, {@link #CRIO}, {@link #CRI} (a
 *                    Kubernetes container whose runtime the path does not name), {@link #SYSTEMD}, or null
 * @param containerId the runtime's 64-hex container id, null when not a container
 * @param podUid      the Kubernetes pod uid (with dashes), null when not in a pod
 * @param qosClass    {@code guaranteed}, {@code burstable} or {@code besteffort} for pods and their containers
 * @param unit        the systemd unit name for a unit's cgroup, null otherwise
 */
public record CgroupOrigin(String runtime, String containerId, String podUid, String qosClass, String unit) {

    public static final String DOCKER = "docker";
    public static final String PODMAN = "podman";
    public static final String CONTAINERD = "containerd";
    public static final String CRIO = "cri-o";
    public static final String CRI = "cri";
    public static final String SYSTEMD = "systemd";

    /** Nothing known: a plain cgroup. */
    public static final CgroupOrigin NONE = new CgroupOrigin(null, null, null, null, null);

    private static final String ID = "([0-9a-f]{64})";
    private static final Pattern SCOPE = Pattern.compile("(docker|libpod|cri-containerd|crio|nerdctl)-" + ID
            + "(\\.scope)?");
    private static final Pattern BARE_ID = Pattern.compile(ID);
    private static final Pattern POD_DIR = Pattern.compile("pod([0-9a-fA-F-]{36})");
    private static final Pattern POD_SLICE = Pattern.compile(
            "kubepods(?:-(burstable|besteffort))?-pod([0-9a-fA-F_]{36})\\.slice");
    private static final Pattern UNIT = Pattern.compile(".+\\.(service|scope|slice|socket|mount|swap)");

    public boolean isContainer() {
        return containerId != null;
    }

    public boolean inPod() {
        return podUid != null;
    }

    /** The origin of the cgroup at {@code path} ("/a/b"); {@link #NONE} when the path says nothing. */
    public static CgroupOrigin of(String path) {
        if (path == null || path.isEmpty() || path.equals("/")) {
            return NONE;
        }
        String[] parts = path.substring(path.startsWith("/") ? 1 : 0).split("/");
        int last = parts.length - 1;
        String leaf = parts[last];
        String parent = last > 0 ? parts[last - 1] : "";

        // the pod: the leaf itself (a pod's cgroup) or its parent (a container's)
        String[] pod = pod(leaf);
        boolean leafIsPod = pod != null;
        if (!leafIsPod && last > 0) {
            pod = pod(parent);
        }
        String podUid = pod == null ? null : pod[0];
        String qos = null;
        if (pod != null) {
            qos = pod[1] != null ? pod[1] : qosFromParent(parts, leafIsPod ? last - 1 : last - 2);
        }
        if (leafIsPod) {
            return new CgroupOrigin(null, null, podUid, qos, unitName(leaf));
        }

        Matcher scope = SCOPE.matcher(leaf);
        if (scope.matches()) {
            String runtime = switch (scope.group(1)) {
                case "docker" -> DOCKER;
                case "libpod" -> PODMAN;
                case "crio" -> CRIO;
                default -> CONTAINERD;
            };
            return new CgroupOrigin(runtime, scope.group(2), podUid, qos, null);
        }
        if (BARE_ID.matcher(leaf).matches()) {
            if (parent.equals("docker")) {
                return new CgroupOrigin(DOCKER, leaf, podUid, qos, null);
            }
            if (podUid != null) {
                return new CgroupOrigin(CRI, leaf, podUid, qos, null);
            }
            return NONE;
        }
        String unit = unitName(leaf);
        return unit == null ? NONE : new CgroupOrigin(SYSTEMD, null, null, null, unit);
    }

    /** [uid with dashes, qos or null] when {@code part} is a pod's cgroup (either driver), else null. */
    private static String[] pod(String part) {
        Matcher slice = POD_SLICE.matcher(part);
        if (slice.matches()) {
            return new String[] {slice.group(2).replace('_', '-').toLowerCase(Locale.ROOT),
                    slice.group(1) == null ? "guaranteed" : slice.group(1)};
        }
        Matcher dir = POD_DIR.matcher(part);
        return dir.matches() ? new String[] {dir.group(1).toLowerCase(Locale.ROOT), null} : null;
    }

    /** The cgroupfs driver's QoS level is the pod's parent: burstable, besteffort, or kubepods itself. */
    private static String qosFromParent(String[] parts, int parentIndex) {
        if (parentIndex < 0) {
            return null;
        }
        return switch (parts[parentIndex]) {
            case "burstable" -> "burstable";
            case "besteffort" -> "besteffort";
            case "kubepods" -> "guaranteed";
            default -> null;
        };
    }

    private static String unitName(String part) {
        return UNIT.matcher(part).matches() ? part : null;
    }
}

package dev.corral.exporter.naming;

import java.util.Map;
import java.util.Objects;

/**
 * What the metrics say about the container in one cgroup. {@code name} and {@code image} are on every series
 * (as cAdvisor's; "" when unknown), {@code pod}, {@code namespace} and {@code container} (Kubernetes) on every
 * series where known; {@code runtime} and the allow-listed runtime {@code labels} only on the
 * {@code container_info} series, so that arbitrary runtime labels do not multiply the series count.
 *
 * @param runtime "corral", "docker", "podman", "containerd", "cri-o", "cri", "systemd", or "" for a plain cgroup
 * @param labels  runtime labels whose keys the operator allowed, by key
 */
public record ContainerIdentity(String name, String image, String pod, String namespace, String container,
                                String runtime, Map<String, String> labels) {

    public static final ContainerIdentity NONE = new ContainerIdentity("", "", "", "", "", "", Map.of());

    public ContainerIdentity {
        name = Objects.requireNonNullElse(name, "");
        image = Objects.requireNonNullElse(image, "");
        pod = Objects.requireNonNullElse(pod, "");
        namespace = Objects.requireNonNullElse(namespace, "");
        container = Objects.requireNonNullElse(container, "");
        runtime = Objects.requireNonNullElse(runtime, "");
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    /** Only a name (Corral's own containers, systemd units). */
    public static ContainerIdentity named(String name, String runtime) {
        return new ContainerIdentity(name, "", "", "", "", runtime, Map.of());
    }

    /** What the path alone says: a systemd unit's name, a container's runtime, a pod's QoS class. */
    public static ContainerIdentity fromPath(CgroupOrigin origin) {
        if (origin.unit() != null && origin.runtime() != null) {
            return named(origin.unit(), origin.runtime());
        }
        if (origin.runtime() != null) {
            return new ContainerIdentity("", "", "", "", "", origin.runtime(), Map.of());
        }
        return NONE;
    }
}

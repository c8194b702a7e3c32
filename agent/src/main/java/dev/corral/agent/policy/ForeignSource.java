package dev.corral.agent.policy;

import dev.corral.exporter.collect.Snapshot;
import java.util.List;
import java.util.Map;

/** The containers other runtimes started, with a live cgroup in a snapshot, as the policy classes select them. */
public interface ForeignSource {

    ForeignSource NONE = snapshot -> List.of();

    List<Subject> list(Snapshot snapshot);

    /**
     * @param cgroup    its cgroup path, e.g. "/docker/3f1c…"
     * @param runtime   "docker", "podman", "containerd", "cri-o" or "cri"
     * @param name      its name as the runtime knows it ("" until known)
     * @param labels    every label the runtime gave it
     */
    record Subject(String cgroup, String runtime, String name, String image, String namespace,
                   Map<String, String> labels) {
    }
}

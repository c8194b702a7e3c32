package dev.corral.exporter.naming;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@Tag("unit")
class CgroupOriginTest {

    static final String ID = "3f1c8e2b9a7d4c6e5f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60";
    static final String UID = "0c3b1b4e-6a2f-4f8e-9d1a-2b3c4d5e6f70";
    static final String UID_ = UID.replace('-', '_');

    static Stream<Arguments> layouts() {
        return Stream.of(
                // Docker, cgroupfs driver (v1: the same path in every hierarchy; v2: the same path)
                row("/docker/" + ID, "docker", ID, null, null, null),
                // Docker, systemd driver, rootful and rootless
                row("/system.slice/docker-" + ID + ".scope", "docker", ID, null, null, null),
                row("/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" + ID + ".scope", "docker", ID,
                        null, null, null),
                // a cgroup made inside a Docker container is not the container
                row("/docker/" + ID + "/init", null, null, null, null, null),
                row("/docker", null, null, null, null, null),
                // Podman: systemd (root and rootless), cgroupfs; its conmon is a plain unit
                row("/machine.slice/libpod-" + ID + ".scope", "podman", ID, null, null, null),
                row("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + ID + ".scope", "podman", ID,
                        null, null, null),
                row("/libpod_parent/libpod-" + ID, "podman", ID, null, null, null),
                row("/machine.slice/libpod-conmon-" + ID + ".scope", "systemd", null, null, null,
                        "libpod-conmon-" + ID + ".scope"),
                // containerd under Kubernetes, systemd driver, the three QoS classes
                row("/kubepods.slice/kubepods-pod" + UID_ + ".slice/cri-containerd-" + ID + ".scope", "containerd",
                        ID, UID, "guaranteed", null),
                row("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_ + ".slice/cri-containerd-"
                        + ID + ".scope", "containerd", ID, UID, "burstable", null),
                row("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + UID_ + ".slice/cri-containerd-"
                        + ID + ".scope", "containerd", ID, UID, "besteffort", null),
                // CRI-O, systemd and cgroupfs
                row("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_ + ".slice/crio-" + ID
                        + ".scope", "cri-o", ID, UID, "burstable", null),
                row("/kubepods/besteffort/pod" + UID + "/crio-" + ID, "cri-o", ID, UID, "besteffort", null),
                // Docker (cri-dockerd) under Kubernetes, systemd driver
                row("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + UID_ + ".slice/docker-" + ID
                        + ".scope", "docker", ID, UID, "besteffort", null),
                // Kubernetes with the cgroupfs driver: the runtime is not in the path
                row("/kubepods/pod" + UID + "/" + ID, "cri", ID, UID, "guaranteed", null),
                row("/kubepods/burstable/pod" + UID + "/" + ID, "cri", ID, UID, "burstable", null),
                row("/kubepods/besteffort/pod" + UID + "/" + ID, "cri", ID, UID, "besteffort", null),
                // the pod cgroups themselves
                row("/kubepods/burstable/pod" + UID, null, null, UID, "burstable", null),
                row("/kubepods/pod" + UID, null, null, UID, "guaranteed", null),
                row("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_ + ".slice", null, null,
                        UID, "burstable", "kubepods-burstable-pod" + UID_ + ".slice"),
                row("/kubepods.slice/kubepods-pod" + UID_ + ".slice", null, null, UID, "guaranteed",
                        "kubepods-pod" + UID_ + ".slice"),
                // a kubelet --cgroup-root prefix does not matter
                row("/k8s/kubepods/burstable/pod" + UID + "/" + ID, "cri", ID, UID, "burstable", null),
                // the QoS level cgroups: slices are units, cgroupfs directories are nothing
                row("/kubepods.slice/kubepods-burstable.slice", "systemd", null, null, null, "kubepods-burstable.slice"),
                row("/kubepods/burstable", null, null, null, null, null),
                // systemd units: the unit is the name
                row("/system.slice/nginx.service", "systemd", null, null, null, "nginx.service"),
                row("/system.slice", "systemd", null, null, null, "system.slice"),
                row("/user.slice/user-1000.slice/session-3.scope", "systemd", null, null, null, "session-3.scope"),
                row("/system.slice/var-lib-docker.mount", "systemd", null, null, null, "var-lib-docker.mount"),
                row("/system.slice/nginx.service/worker", null, null, null, null, null),
                // not containers: Corral's own, plain directories, an id not under a known parent, short ids
                row("/", null, null, null, null, null),
                row("/corral/web", null, null, null, null, null),
                row("/other/" + ID, null, null, null, null, null),
                row("/docker/3f1c8e2b9a7d", null, null, null, null, null),
                row("/system.slice/docker-3f1c8e2b9a7d.scope", "systemd", null, null, null,
                        "docker-3f1c8e2b9a7d.scope"));
    }

    private static Arguments row(String path, String runtime, String id, String pod, String qos, String unit) {
        return Arguments.of(path, new CgroupOrigin(runtime, id, pod, qos, unit));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void thePathSaysWhoMadeTheCgroup(String path, CgroupOrigin expected) {
        assertThat(CgroupOrigin.of(path)).isEqualTo(expected);
    }
}

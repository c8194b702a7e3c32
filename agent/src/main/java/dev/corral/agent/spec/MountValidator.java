package dev.corral.agent.spec;

import dev.corral.exporter.sample.Limits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The rules of paths: the rootfs, bind and tmpfs mounts, and which host paths a container may be given
 * without {@code dangerouslyAllowHostPaths}.
 */
final class MountValidator {

    private static final Pattern OCTAL_MODE = Pattern.compile("[0-7]{3,4}");

    private final HostFacts host;

    MountValidator(HostFacts host) {
        this.host = host;
    }

    static Path rootfs(String rootfs) throws SpecException {
        if (rootfs == null) {
            return null;
        }
        if (rootfs.equals(ContainerConfig.HOST)) {
            return ContainerConfig.HOST_ROOT;
        }
        Path p = hostPath(rootfs, "rootfs");
        if (p.toString().equals("/")) {
            throw new SpecException("rootfs", "use rootfs '" + ContainerConfig.HOST + "' for the host's root (read-only "
                    + "unless dangerouslyAllowHostPaths); '/' is not a container root");
        }
        if (!Files.isDirectory(p)) {
            throw new SpecException("rootfs", "'" + rootfs + "' is not a directory");
        }
        return p;
    }

    List<ContainerConfig.MountPlan> mounts(List<ContainerSpec.Mount> mounts, boolean allowHost,
                                                   boolean mountNs) throws SpecException {
        if (mounts == null || mounts.isEmpty()) {
            return List.of();
        }
        if (!mountNs) {
            throw new SpecException("mounts", "mounts need a mount namespace");
        }
        List<ContainerConfig.MountPlan> out = new ArrayList<>();
        for (int i = 0; i < mounts.size(); i++) {
            ContainerSpec.Mount m = mounts.get(i);
            String field = "mounts[" + i + "]";
            String type = m.type() == null ? "bind" : m.type();
            String target = containerPath(m.target(), field + ".target");
            if (target.equals("/")) {
                throw new SpecException(field + ".target", "must not be '/'");
            }
            switch (type) {
                case "bind" -> {
                    Path source = hostPath(m.source(), field + ".source");
                    if (!Files.exists(source)) {
                        throw new SpecException(field + ".source", "'" + m.source() + "' does not exist");
                    }
                    if (!allowHost) {
                        refuseHostPath(source, field + ".source");
                    }
                    out.add(new ContainerConfig.MountPlan("bind", source.toString(), target,
                            m.readOnly() == null || m.readOnly(), null));
                }
                case "tmpfs" -> {
                    if (m.source() != null) {
                        throw new SpecException(field + ".source", "a tmpfs has no source");
                    }
                    StringBuilder data = new StringBuilder("mode=");
                    if (m.mode() != null && !OCTAL_MODE.matcher(m.mode()).matches()) {
                        throw new SpecException(field + ".mode", "must be octal like 1777");
                    }
                    data.append(m.mode() == null ? "1777" : m.mode());
                    if (m.size() != null) {
                        if (m.size() < 4096 || Limits.isUnlimited(m.size())) {
                            throw new SpecException(field + ".size", "must be at least 4k");
                        }
                        data.append(",size=").append(m.size());
                    }
                    out.add(new ContainerConfig.MountPlan("tmpfs", "tmpfs", target,
                            Boolean.TRUE.equals(m.readOnly()), data.toString()));
                }
                default -> throw new SpecException(field + ".type", "must be 'bind' or 'tmpfs'");
            }
        }
        return List.copyOf(out);
    }

    /**
     * A container given the host's root, its /proc or /sys, or the agent's own state owns the host: such
     * binds need the loudly named override.
     */
    private void refuseHostPath(Path source, String field) throws SpecException {
        Path real;
        try {
            real = source.toRealPath();
        } catch (java.io.IOException e) {
            throw new SpecException(field, "cannot resolve '" + source + "': " + e.getMessage());
        }
        String why = null;
        if (real.toString().equals("/")) {
            why = "the host's root";
        } else if (real.startsWith("/proc") || real.startsWith("/sys") || real.startsWith("/dev")) {
            why = "host kernel interfaces (" + real.getName(0) + ")";
        } else {
            for (Path p : host.protectedPaths()) {
                if (p.startsWith(real) || real.startsWith(p)) {
                    why = "the agent's own state (" + p + ")";
                }
            }
        }
        if (why != null) {
            throw new SpecException(field, "binding '" + source + "' would expose " + why + " to the container; "
                    + "set dangerouslyAllowHostPaths: true only if the container may own the host");
        }
    }

    static String containerPath(String p, String field) throws SpecException {
        if (p == null || p.isEmpty()) {
            throw new SpecException(field, "is required");
        }
        checkPath(p, field);
        return Path.of(p).normalize().toString();
    }

    static Path hostPath(String p, String field) throws SpecException {
        if (p == null || p.isEmpty()) {
            throw new SpecException(field, "is required");
        }
        checkPath(p, field);
        return Path.of(p).normalize();
    }

    private static void checkPath(String p, String field) throws SpecException {
        if (!p.startsWith("/")) {
            throw new SpecException(field, "must be an absolute path");
        }
        for (String part : p.split("/")) {
            if (part.equals("..")) {
                throw new SpecException(field, "must not contain '..'");
            }
        }
        if (p.indexOf('\0') >= 0 || p.indexOf('\t') >= 0 || p.indexOf('\n') >= 0 || p.length() > 4096) {
            throw new SpecException(field, "must not contain NUL, tab or newline characters");
        }
    }
}

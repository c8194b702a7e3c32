package dev.corral.agent.image;

import dev.corral.agent.ContainerException;
import dev.corral.agent.spec.ContainerConfig;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The root filesystems of containers made from images, under {@code <state>/rootfs/<container>/}: {@code image}
 * (the id it was created on, which pins the image), {@code upper/} and {@code work/} (its own writable layer;
 * none when read-only), {@code init/} (read-only: the mount points the image may lack) and {@code merged/}, where
 * the shim mounts the overlay inside the container's mount namespace.
 */
public final class ContainerRootfs {

    private static final Logger LOG = LoggerFactory.getLogger(ContainerRootfs.class);
    /** Made in init/ so that a read-only root has them: the shim mounts /dev, /proc and /sys there. */
    private static final List<String> MOUNT_POINTS = List.of("dev", "proc", "sys", "tmp");

    private final ImageStore store;

    public ContainerRootfs(ImageStore store) {
        this.store = store;
    }

    /**
     * What the shim mounts: {@code lowers} top layer first, as overlayfs lists them; {@code upper}/{@code work}
     * null when read-only.
     */
    public record Plan(Path mountPoint, List<Path> lowers, Path upper, Path work) {
    }

    public ImageStore store() {
        return store;
    }

    /**
     * The spec with its image's defaults filled in (unchanged without an image): from the image the container
     * was created on, or for a new one the image the spec names.
     *
     * @param container null for a container not created yet
     */
    public ContainerSpec withDefaults(ContainerSpec spec, String container)
            throws SpecException, ContainerException, IOException {
        if (spec.image() == null) {
            return spec;
        }
        Image image = container == null ? null : imageOf(container).orElse(null);
        if (image == null) {
            try {
                image = store.get(spec.image());
            } catch (ContainerException e) {
                if (e.kind() == ContainerException.Kind.NOT_FOUND) {
                    throw new SpecException("image", e.getMessage() + " (import it with corral image import)");
                }
                throw e;
            }
        }
        List<Path> layers = new ArrayList<>();
        for (int i = image.layers().size() - 1; i >= 0; i--) {
            layers.add(store.layerDir(image.layers().get(i).substring(7)));
        }
        return ImageDefaults.apply(spec, image, layers);
    }

    /** The overlay for a start; for a read-only root, its mount points made in init/. */
    public Plan forStart(String container, ContainerConfig config) throws IOException, ContainerException {
        Plan plan = plan(container, config.readOnlyRootfs());
        if (config.readOnlyRootfs()) {
            for (ContainerConfig.MountPlan m : config.mounts()) {
                addMountPoint(container, m.target(), !m.type().equals("bind") || Files.isDirectory(Path.of(m.source())));
            }
        }
        return plan;
    }

    private Path dir(String container) {
        return store.containers.resolve(container); // the name is validated by the runtime
    }

    /** Pins the image for a container being created and makes its directories; returns the image. */
    public Image create(String container, String ref) throws SpecException, ContainerException, IOException {
        synchronized (store) {
            Image image;
            try {
                image = store.get(ref);
            } catch (ContainerException e) {
                if (e.kind() == ContainerException.Kind.NOT_FOUND) {
                    throw new SpecException("image", e.getMessage() + " (import it with corral image import)");
                }
                throw e;
            }
            Path d = dir(container);
            remove(container); // a leftover of a crash
            Path t = store.stagingDir().resolve("rootfs-" + UUID.randomUUID());
            Files.createDirectories(t);
            for (String sub : List.of("upper", "work", "merged", "init")) {
                Files.createDirectory(t.resolve(sub));
            }
            for (String m : MOUNT_POINTS) {
                Files.createDirectory(t.resolve("init").resolve(m));
            }
            Files.writeString(t.resolve("image"), image.hex());
            Files.move(t, d, StandardCopyOption.ATOMIC_MOVE);
            return image;
        }
    }

    /** The image a container was created on, if it was. */
    public Optional<Image> imageOf(String container) throws IOException {
        Path pin = dir(container).resolve("image");
        if (!Files.exists(pin)) {
            return Optional.empty();
        }
        return store.byId(Files.readString(pin).strip());
    }

    /** The overlay to mount for a start. */
    public Plan plan(String container, boolean readOnly) throws IOException, ContainerException {
        Image image = imageOf(container).orElseThrow(() -> new ContainerException(ContainerException.Kind.FAILED,
                "the image of '" + container + "' is gone from the store"));
        Path d = dir(container);
        List<Path> lowers = new ArrayList<>();
        if (readOnly) {
            lowers.add(d.resolve("init"));
        }
        for (int i = image.layers().size() - 1; i >= 0; i--) {
            lowers.add(store.layerDir(image.layers().get(i).substring(7)));
        }
        return readOnly ? new Plan(d.resolve("merged"), lowers, null, null)
                : new Plan(d.resolve("merged"), lowers, d.resolve("upper"), d.resolve("work"));
    }

    /** Read-only roots have no upper dir to make mount points in: they go in init/, above the image. */
    void addMountPoint(String container, String target, boolean directory) throws IOException {
        Path p = dir(container).resolve("init");
        List<String> parts = new ArrayList<>();
        for (String c : target.split("/")) {
            if (c.equals("..")) {
                throw new IOException("mount target " + target + " has a '..' component");
            }
            if (!c.isEmpty() && !c.equals(".")) {
                parts.add(c);
            }
        }
        for (int i = 0; i < parts.size(); i++) {
            p = p.resolve(parts.get(i));
            if (i < parts.size() - 1 || directory) {
                if (!Files.isDirectory(p)) {
                    Files.createDirectory(p);
                }
            } else if (!Files.exists(p)) {
                Files.createFile(p);
            }
        }
    }

    /** Removes a container's root filesystem (its writable layer and the pin). Nothing is mounted on the host. */
    public void remove(String container) throws IOException {
        synchronized (store) {
            Path d = dir(container);
            if (!Files.exists(d)) {
                return;
            }
            Path trash = store.stagingDir().resolve("gone-" + UUID.randomUUID());
            Files.move(d, trash, StandardCopyOption.ATOMIC_MOVE);
            Trees.delete(trash);
        }
    }

    /** corral rename: the container's root directories follow its name (none for a container without an image). */
    public void rename(String from, String to) throws IOException {
        synchronized (store) {
            Path d = dir(from);
            if (Files.exists(d) && !Files.exists(dir(to))) {
                Files.move(d, dir(to), StandardCopyOption.ATOMIC_MOVE);
            }
        }
    }

    /** Removes the roots of containers that no longer exist (an agent that died while removing one). */
    public void sweep(Set<String> containers) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(store.containers)) {
            for (Path d : ds) {
                String name = d.getFileName().toString();
                if (!containers.contains(name)) {
                    LOG.info("removing the root filesystem of {}, which no longer exists", name);
                    remove(name);
                }
            }
        }
    }

    /** Containers pinning an image. */
    static List<String> usersOf(Path containersDir, String hex) throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(containersDir)) {
            for (Path d : ds) {
                Path pin = d.resolve("image");
                if (Files.exists(pin) && Files.readString(pin).strip().equals(hex)) {
                    out.add(d.getFileName().toString());
                }
            }
        }
        out.sort(null);
        return out;
    }
}

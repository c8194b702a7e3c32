package dev.corral.agent.image;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Builds image archives for tests, with no registry: layer tars from busybox-static's /bin/busybox and small
 * files, wrapped as an OCI image layout tar or a docker-save tar.
 */
public final class TestImages {

    public static final Path BUSYBOX = Path.of("/bin/busybox");

    private TestImages() {
    }

    /**
     * A directory to run containers on (a spec's rootfs): /bin/busybox and links to it for {@code tools}. The caller
     * removes it ({@link #deleteTree}).
     */
    public static Path busyboxRoot(String... tools) throws IOException {
        Path root = Files.createTempDirectory("corral-test-busybox-root");
        Files.createDirectories(root.resolve("bin"));
        Files.copy(BUSYBOX, root.resolve("bin/busybox"));
        for (String tool : tools) {
            Files.createSymbolicLink(root.resolve("bin/" + tool), Path.of("busybox"));
        }
        return root;
    }

    /** Removes a directory tree made by a test. */
    public static void deleteTree(Path dir) throws IOException {
        try (var all = Files.walk(dir)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** A layer tar, built entry by entry. */
    public static final class Layer {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes);

        public Layer() {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        }

        public Layer dir(String path) {
            TarArchiveEntry e = new TarArchiveEntry(path.endsWith("/") ? path : path + "/");
            e.setMode(040755);
            return put(e, null);
        }

        public Layer file(String path, String content) {
            return file(path, content.getBytes(StandardCharsets.UTF_8), 0644);
        }

        public Layer file(String path, byte[] content, int mode) {
            TarArchiveEntry e = new TarArchiveEntry(path);
            e.setMode(0100000 | mode);
            e.setSize(content.length);
            return put(e, content);
        }

        public Layer busybox(String path) {
            try {
                return file(path, Files.readAllBytes(BUSYBOX), 0755);
            } catch (IOException e) {
                throw new UncheckedIOException("busybox-static's /bin/busybox is needed (apt-get install busybox-static)",
                        e);
            }
        }

        public Layer symlink(String path, String target) {
            TarArchiveEntry e = new TarArchiveEntry(path, TarConstants.LF_SYMLINK);
            e.setLinkName(target);
            e.setMode(0120777);
            return put(e, null);
        }

        public Layer hardlink(String path, String target) {
            TarArchiveEntry e = new TarArchiveEntry(path, TarConstants.LF_LINK);
            e.setLinkName(target);
            return put(e, null);
        }

        /** Deletes path of a lower layer (OCI whiteout). */
        public Layer whiteout(String path) {
            int slash = path.lastIndexOf('/');
            return file(path.substring(0, slash + 1) + ".wh." + path.substring(slash + 1), new byte[0], 0644);
        }

        /** Hides what lower layers have in dir (OCI opaque whiteout). */
        public Layer opaque(String dir) {
            return file(dir + "/.wh..wh..opq", new byte[0], 0644);
        }

        /** An entry exactly as given (for hostile archives). */
        public Layer raw(TarArchiveEntry e, byte[] content) {
            return put(e, content);
        }

        private Layer put(TarArchiveEntry e, byte[] content) {
            try {
                e.setModTime(1_700_000_000_000L);
                tar.putArchiveEntry(e);
                if (content != null) {
                    tar.write(content);
                }
                tar.closeArchiveEntry();
                return this;
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }

        public byte[] tar() {
            try {
                tar.finish();
                tar.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return bytes.toByteArray();
        }
    }

    /** The layers' image config: entrypoint /bin/busybox, the given cmd, env and working dir. */
    public static byte[] config(List<byte[]> layerTars, List<String> cmd, List<String> env, String workingDir) {
        ObjectNode c = ImageArchive.JSON.createObjectNode();
        c.put("architecture", "amd64").put("os", "linux").put("created", "2026-01-01T00:00:00Z");
        ObjectNode conf = c.putObject("config");
        conf.putArray("Entrypoint").add("/bin/busybox");
        ArrayNode cmdNode = conf.putArray("Cmd");
        cmd.forEach(cmdNode::add);
        ArrayNode envNode = conf.putArray("Env");
        env.forEach(envNode::add);
        if (workingDir != null) {
            conf.put("WorkingDir", workingDir);
        }
        ObjectNode rootfs = c.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode ids = rootfs.putArray("diff_ids");
        layerTars.forEach(t -> ids.add("sha256:" + Digests.sha256Hex(t)));
        return json(c);
    }

    /**
     * An OCI image layout tar (as {@code podman save --format oci-archive} writes).
     *
     * @param gzip whether layers are stored gzip-compressed
     */
    public static byte[] ociArchive(List<byte[]> layerTars, byte[] config, String refName, boolean gzip) {
        Layer out = new Layer();
        out.file("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
        out.dir("blobs").dir("blobs/sha256");
        ObjectNode manifest = ImageArchive.JSON.createObjectNode();
        manifest.put("schemaVersion", 2).put("mediaType", "application/vnd.oci.image.manifest.v1+json");
        manifest.set("config", descriptor("application/vnd.oci.image.config.v1+json", config));
        ArrayNode layers = manifest.putArray("layers");
        List<String> written = new ArrayList<>();
        for (byte[] t : layerTars) {
            byte[] blob = gzip ? gzip(t) : t;
            layers.add(descriptor(gzip ? "application/vnd.oci.image.layer.v1.tar+gzip"
                    : "application/vnd.oci.image.layer.v1.tar", blob));
            blob(out, blob, written);
        }
        blob(out, config, written);
        byte[] m = json(manifest);
        blob(out, m, written);
        ObjectNode index = ImageArchive.JSON.createObjectNode();
        index.put("schemaVersion", 2);
        ObjectNode md = descriptor("application/vnd.oci.image.manifest.v1+json", m);
        if (refName != null) {
            md.putObject("annotations").put("org.opencontainers.image.ref.name", refName);
        }
        index.putArray("manifests").add(md);
        out.file("index.json", json(index), 0644);
        return out.tar();
    }

    /**
     * A {@code docker save} tar in the legacy layout as podman 4 writes it: each layer as DIFFID.tar at the top, and
     * ID/layer.tar a symlink to it; the config as HEX.json.
     */
    public static byte[] dockerArchive(List<byte[]> layerTars, byte[] config, String repoTag) {
        Layer out = new Layer();
        String configName = Digests.sha256Hex(config) + ".json";
        out.file(configName, config, 0644);
        ObjectNode m = ImageArchive.JSON.createObjectNode();
        m.put("Config", configName);
        if (repoTag != null) {
            m.putArray("RepoTags").add(repoTag);
        }
        ArrayNode layers = m.putArray("Layers");
        for (byte[] t : layerTars) {
            String diffId = Digests.sha256Hex(t);
            String id = Digests.sha256Hex(("layer " + diffId).getBytes(StandardCharsets.UTF_8));
            out.file(diffId + ".tar", t, 0644).dir(id).symlink(id + "/layer.tar", "../" + diffId + ".tar")
                    .file(id + "/VERSION", "1.0");
            layers.add(id + "/layer.tar");
        }
        ArrayNode list = ImageArchive.JSON.createArrayNode();
        list.add(m);
        out.file("manifest.json", json(list), 0644);
        return out.tar();
    }

    private static void blob(Layer out, byte[] blob, List<String> written) {
        String hex = Digests.sha256Hex(blob);
        if (!written.contains(hex)) {
            written.add(hex);
            out.file("blobs/sha256/" + hex, blob, 0644);
        }
    }

    private static ObjectNode descriptor(String mediaType, byte[] blob) {
        ObjectNode d = ImageArchive.JSON.createObjectNode();
        d.put("mediaType", mediaType).put("digest", "sha256:" + Digests.sha256Hex(blob)).put("size", blob.length);
        return d;
    }

    public static byte[] gzip(byte[] data) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(b)) {
            g.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.toByteArray();
    }

    private static byte[] json(Object node) {
        try {
            return ImageArchive.JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- the image of the proof tests ------------------------------------------------------------

    /** Base layer: busybox, /etc/gone, /etc/replaced ("one"), /etc/kept, /opaque/a and /opaque/sub/b. */
    public static byte[] baseLayer() {
        return new Layer().dir("bin").busybox("bin/busybox").symlink("bin/sh", "busybox").dir("etc")
                .file("etc/gone", "gone\n").file("etc/replaced", "one\n").file("etc/kept", "kept\n")
                .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nworker:x:1000:1001::/home:/bin/sh\n")
                .dir("opaque").file("opaque/a", "a\n").dir("opaque/sub").file("opaque/sub/b", "b\n")
                .dir("dev").dir("proc").dir("sys").dir("tmp").tar();
    }

    /** Second layer: deletes /etc/gone, replaces /etc/replaced ("two"), makes /opaque opaque with only c. */
    public static byte[] topLayer() {
        return new Layer().dir("etc").whiteout("etc/gone").file("etc/replaced", "two\n").dir("opaque")
                .opaque("opaque").file("opaque/c", "c\n").tar();
    }

    public static List<byte[]> twoLayers() {
        return List.of(baseLayer(), topLayer());
    }

    public static byte[] twoLayerConfig() {
        return config(twoLayers(), List.of("sh", "-c", "echo default-cmd"), List.of("PATH=/bin", "FROM_IMAGE=yes"),
                "/opaque");
    }

    public static Path write(Path dir, String name, byte[] archive) throws IOException {
        return Files.write(dir.resolve(name), archive);
    }
}

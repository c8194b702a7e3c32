package dev.corral.agent.image;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.corral.agent.ContainerException;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Writes images as one tar that is both an OCI image layout ({@code oci-layout}, {@code index.json},
 * {@code blobs/sha256/}: podman load, skopeo oci-archive:) and, over the same blobs, a {@code docker save}
 * {@code manifest.json} (docker load before Docker 25 reads only that), as Docker 25's docker save writes.
 * The blobs are the ones the images came as, so ids and digests are unchanged.
 */
public final class ImageSaver {

    private final ImageStore store;

    public ImageSaver(ImageStore store) {
        this.store = store;
    }

    /** Writes the images {@code refs} name (each once, with all the names given for it) to {@code out}. */
    public void save(List<String> refs, OutputStream out) throws IOException, SpecException, ContainerException {
        Map<String, ImageBlobs> images = new LinkedHashMap<>();
        Map<String, List<String>> tags = new LinkedHashMap<>();
        for (String r : refs) {
            ImageRef ref = ImageRef.parse(r, "ref");
            Image image = store.get(r);
            if (!images.containsKey(image.id())) {
                images.put(image.id(), ImageBlobs.of(store, image, r));
                tags.put(image.id(), new java.util.ArrayList<>());
            }
            if (ref.name() != null && image.names().contains(ref.nameTag())) {
                tags.get(image.id()).add(ref.nameTag());
            }
        }
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            dir(tar, "blobs/");
            dir(tar, "blobs/sha256/");
            Set<String> written = new HashSet<>();
            ObjectNode index = ImageArchive.JSON.createObjectNode().put("schemaVersion", 2)
                    .put("mediaType", "application/vnd.oci.image.index.v1+json");
            ArrayNode manifests = index.putArray("manifests");
            ArrayNode docker = ImageArchive.JSON.createArrayNode();
            for (ImageBlobs b : images.values()) {
                ObjectNode d = docker.addObject().put("Config", "blobs/sha256/" + b.image().hex());
                ArrayNode repoTags = d.putArray("RepoTags");
                ArrayNode layers = d.putArray("Layers");
                for (ImageBlobs.Layer l : b.layers()) {
                    if (written.add(l.hex())) {
                        TarArchiveEntry e = new TarArchiveEntry("blobs/sha256/" + l.hex());
                        e.setSize(l.size());
                        tar.putArchiveEntry(e);
                        try (InputStream in = java.nio.file.Files.newInputStream(l.file())) {
                            in.transferTo(tar);
                        }
                        tar.closeArchiveEntry();
                    }
                    layers.add("blobs/sha256/" + l.hex());
                }
                if (written.add(b.image().hex())) {
                    file(tar, "blobs/sha256/" + b.image().hex(), b.config());
                }
                String mhex = b.manifestHex();
                if (written.add(mhex)) {
                    file(tar, "blobs/sha256/" + mhex, b.manifest());
                }
                List<String> names = tags.get(b.image().id());
                for (String n : names) {
                    repoTags.add(n);
                }
                // One index entry per name (so each name is loaded), or one without a name for an image given by id.
                for (String n : names.isEmpty() ? java.util.Collections.<String>singletonList(null) : names) {
                    ObjectNode m = manifests.addObject().put("mediaType", "application/vnd.oci.image.manifest.v1+json")
                            .put("digest", "sha256:" + mhex).put("size", b.manifest().length);
                    if (n != null) {
                        m.putObject("annotations").put("org.opencontainers.image.ref.name", n)
                                .put("io.containerd.image.name", n);
                    }
                }
            }
            file(tar, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            file(tar, "index.json", ImageArchive.JSON.writeValueAsBytes(index));
            file(tar, "manifest.json", ImageArchive.JSON.writeValueAsBytes(docker));
            tar.finish();
        }
    }

    private static void dir(TarArchiveOutputStream tar, String name) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(040755);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    private static void file(TarArchiveOutputStream tar, String name, byte[] data) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(data.length);
        e.setMode(0100644);
        tar.putArchiveEntry(e);
        tar.write(data);
        tar.closeArchiveEntry();
    }
}

package dev.corral.agent.image;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.ContainerException;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecParser;
import dev.corral.agent.spec.SpecValidator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Images and their layers under {@code <state>/images/}: {@code layers/<diff id>/} holds each layer unpacked once
 * (content-addressed by the sha256 of its uncompressed tar), {@code images.json} the images and their names.
 * An import unpacks into {@code tmp/}, then, under the store's lock, renames new layers into place and replaces
 * images.json atomically: a crash before that rename leaves only unreferenced layers and staging files, which
 * {@link #open} removes. Containers pin the image they were created on (see {@link ContainerRootfs}), and an
 * image is not removed while pinned. Every method blocks on file IO.
 */
public final class ImageStore {

    private static final Logger LOG = LoggerFactory.getLogger(ImageStore.class);

    private final Path root;
    private final Path layers;
    private final Path blobs;
    private final Path tmp;
    private final Path index;
    final Path containers;
    private List<Image> images;

    private ImageStore(Path stateDir) {
        this.root = stateDir.resolve("images");
        this.layers = root.resolve("layers");
        this.blobs = root.resolve("blobs").resolve("sha256");
        this.tmp = root.resolve("tmp");
        this.index = root.resolve("images.json");
        this.containers = stateDir.resolve("rootfs");
    }

    /** A container's own rootfs directory (its image pin, upper and work dirs); it may not exist. */
    public Path containerDir(String container) {
        return containers.resolve(container); // the name is validated by the runtime
    }

    /** Opens the store, removing what an interrupted import or removal left: staging files, unreferenced layers. */
    public static ImageStore open(Path stateDir) throws IOException {
        ImageStore s = new ImageStore(stateDir);
        Files.createDirectories(s.layers);
        Files.createDirectories(s.blobs);
        Files.createDirectories(s.containers);
        Trees.delete(s.tmp);
        Files.createDirectories(s.tmp);
        s.images = Files.exists(s.index)
                ? List.copyOf(ImageArchive.JSON.readValue(s.index.toFile(), new TypeReference<List<Image>>() { }))
                : List.of();
        s.collectLayers();
        return s;
    }

    /**
     * Where pulls keep the blobs they verified until the image is recorded: kept across restarts, so that a pull
     * broken off resumes; a pull removes its part when done.
     */
    public Path pullCache() throws IOException {
        return Files.createDirectories(root.resolve("pulls"));
    }

    /** A directory for staging files (an upload on its way in), on the store's filesystem; removed on open. */
    public Path stagingDir() {
        return tmp;
    }

    public Path layerDir(String diffIdHex) {
        return layers.resolve(diffIdHex).resolve("diff");
    }

    /**
     * The blob a layer came as (compressed or not, as the archive or registry had it), kept beside the unpacked
     * layer, as containerd's content store keeps blobs beside its snapshots: push and save send these bytes, so
     * that the digests in the image's config and manifest stay true. Null for a layer imported before blobs were
     * kept.
     */
    public Path layerBlob(String diffIdHex) {
        try {
            String hex = Files.readString(layers.resolve(diffIdHex).resolve("blob")).strip();
            Path b = blobs.resolve(hex);
            return Files.isRegularFile(b) ? b : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The image's config blob as it came (its sha256 is the image id), or null for an image from before. */
    public byte[] configBlob(Image image) throws IOException {
        Path b = blobs.resolve(image.hex());
        return Files.isRegularFile(b) ? Files.readAllBytes(b) : null;
    }

    // ---- import ---------------------------------------------------------------------------------------

    /**
     * Imports a tar (plain or gzip): an OCI image layout, a docker-save archive, or a root filesystem (one layer).
     *
     * @param name "name[:tag]" to give it, or null for the name the archive gives (if any)
     */
    public Image importArchive(Path file, String name) throws IOException, BadArchiveException, SpecException {
        String ref = name == null ? null : ImageRef.parse(name, "name").nameTag();
        Path staging = Files.createDirectory(tmp.resolve("import-" + UUID.randomUUID()));
        try {
            if (!LayerUnpacker.isGzip(file)) {
                // Read in place: each blob is read once, from the upload, never copied out first.
                try (ArchiveSource.Tar tar = ArchiveSource.Tar.open(file)) {
                    if (tar.isEmpty()) {
                        throw new BadArchiveException("the archive is empty or not a tar archive");
                    }
                    if (ImageArchive.isImageLayout(tar)) {
                        tar.checkLinksStayInside();
                        return importLayout(ImageArchive.read(tar), ref, staging);
                    }
                }
            } else if (ArchiveFiles.isImageArchive(file)) {
                Path src = Files.createDirectory(staging.resolve("src"));
                ArchiveFiles.extract(file, src);
                try (ArchiveSource dir = new ArchiveSource.Dir(src)) {
                    return importLayout(ImageArchive.read(dir), ref, staging);
                }
            }
            return importRootfs(file, ref, staging);
        } finally {
            Trees.delete(staging);
        }
    }

    /** Imports an OCI image layout directory (as {@code skopeo copy ... oci:DIR} writes). */
    public Image importDirectory(Path dir, String name) throws IOException, BadArchiveException, SpecException {
        String ref = name == null ? null : ImageRef.parse(name, "name").nameTag();
        try (ArchiveSource src = new ArchiveSource.Dir(dir)) {
            if (!ImageArchive.isImageLayout(src)) {
                throw new BadArchiveException(dir + " has neither index.json (OCI layout) nor manifest.json (docker save)");
            }
            Path staging = Files.createDirectory(tmp.resolve("import-" + UUID.randomUUID()));
            try {
                return importLayout(ImageArchive.read(src), ref, staging);
            } finally {
                Trees.delete(staging);
            }
        }
    }

    private Image importLayout(ImageArchive.Plan plan, String ref, Path staging)
            throws IOException, BadArchiveException {
        List<Staged> staged = new ArrayList<>();
        long size = 0;
        for (int i = 0; i < plan.layers().size(); i++) {
            ImageArchive.Layer l = plan.layers().get(i);
            String what = "layer " + i + " (sha256:" + (l.blobDigest() != null ? l.blobDigest() : l.diffId()) + ")";
            Path dest = staging.resolve("layer-" + i);
            boolean present = Files.isDirectory(layerDir(l.diffId()));
            if (present && !plan.source().has(l.blob())) { // a pull skips the layers the store has
                staged.add(new Staged(l.diffId(), null, 0, null, null));
                size += layerSize(l.diffId());
                continue;
            }
            Checked c;
            Path raw = staging.resolve("blob-" + i);
            try (InputStream blob = plan.source().open(l.blob())) {
                c = readLayer(blob, present ? null : dest, raw, what);
            }
            if (l.blobDigest() != null && !c.blobHex.equals(l.blobDigest())) {
                throw new BadArchiveException(what + " does not match its digest: the blob hashes to sha256:"
                        + c.blobHex);
            }
            if (!c.diffHex.equals(l.diffId())) {
                throw new BadArchiveException(what + " does not match its diff id sha256:" + l.diffId()
                        + " from the config: the uncompressed layer hashes to sha256:" + c.diffHex);
            }
            staged.add(new Staged(l.diffId(), present ? null : dest, c.bytes, c.blobHex, raw));
            size += present ? layerSize(l.diffId()) : c.bytes;
        }
        JsonNode config = ImageArchive.JSON.readTree(plan.config());
        Image image = new Image("sha256:" + plan.configHex(), names(ref != null ? ref : plan.name()),
                staged.stream().map(s -> "sha256:" + s.diffId).toList(), size, config.path("created").asText(null),
                System.currentTimeMillis(), ImageConfig.of(config.path("config")));
        return commit(image, staged, plan.config());
    }

    /**
     * A root filesystem tar has no config: it gets what `docker import` gives, created at the import (as
     * `image ls` shows it), and a config with the default PATH and working directory "/" (no command: the
     * container's spec gives one). The id digests that config without the time, so the same tarball imported
     * again is the same image (and keeps its first import time).
     */
    private Image importRootfs(Path file, String ref, Path staging) throws IOException, BadArchiveException {
        Path dest = staging.resolve("layer-0");
        Path raw = staging.resolve("blob-0");
        Checked c;
        try (InputStream in = Files.newInputStream(file)) {
            c = readLayer(in, dest, raw, "the root filesystem tar");
        }
        String config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH="
                + SpecValidator.DEFAULT_PATH + "\"],\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\","
                + "\"diff_ids\":[\"sha256:" + c.diffHex + "\"]}}";
        long now = System.currentTimeMillis();
        Image image = new Image("sha256:" + Digests.sha256Hex(config.getBytes(StandardCharsets.UTF_8)), names(ref),
                List.of("sha256:" + c.diffHex), c.bytes, Instant.ofEpochMilli(now).toString(), now,
                ImageConfig.of(ImageArchive.JSON.readTree(config).path("config")));
        return commit(image, List.of(new Staged(c.diffHex, dest, c.bytes, c.blobHex, raw)),
                config.getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> names(String ref) {
        return ref == null ? List.of() : List.of(ref);
    }

    /** A layer of an import: {@code dir} its new unpacked tree (null when the store has it), {@code blobFile} its blob. */
    private record Staged(String diffId, Path dir, long bytes, String blobHex, Path blobFile) {
    }

    private record Checked(String blobHex, String diffHex, long bytes) {
    }

    /**
     * Reads a layer blob to its end, hashing it as stored and uncompressed; unpacks it into {@code dest} unless
     * that is null (a layer the store has: only its digests are checked).
     */
    private static Checked readLayer(InputStream blob, Path dest, Path rawCopy, String what)
            throws IOException, BadArchiveException {
        MessageDigest blobMd = Digests.sha256();
        MessageDigest diffMd = Digests.sha256();
        try (OutputStream copy = Files.newOutputStream(rawCopy);
             InputStream raw = new DigestInputStream(new Tee(blob, copy), blobMd)) {
            InputStream tar = new DigestInputStream(LayerUnpacker.decompressed(raw, what), diffMd);
            long bytes = 0;
            try {
                if (dest != null) {
                    Files.createDirectories(dest.resolve("diff"));
                    bytes = LayerUnpacker.unpack(tar, dest.resolve("diff"), what);
                }
                tar.transferTo(OutputStream.nullOutputStream()); // the rest: tar padding, or all of it
                raw.transferTo(OutputStream.nullOutputStream());
            } catch (java.util.zip.ZipException | java.io.EOFException e) {
                throw new BadArchiveException(what + " is truncated or corrupt: " + e.getMessage());
            }
            return new Checked(Digests.hex(blobMd), Digests.hex(diffMd), bytes);
        }
    }

    /**
     * Renames the new layers (and their blobs) into place and records the image, atomically, under the store's
     * lock. {@code config} is the config blob, kept for push and save.
     */
    private synchronized Image commit(Image image, List<Staged> staged, byte[] config) throws IOException {
        if (config != null && !Files.exists(blobs.resolve(image.hex()))) {
            Path t = tmp.resolve("config-" + UUID.randomUUID());
            Files.write(t, config);
            Files.move(t, blobs.resolve(image.hex()), StandardCopyOption.ATOMIC_MOVE);
        }
        for (Staged s : staged) {
            if (s.blobFile != null) {
                Path b = blobs.resolve(s.blobHex);
                if (!Files.exists(b)) {
                    Files.move(s.blobFile, b, StandardCopyOption.ATOMIC_MOVE);
                }
                Path named = (s.dir != null ? s.dir : layers.resolve(s.diffId)).resolve("blob");
                if (Files.isDirectory(named.getParent()) && !Files.exists(named)) {
                    Files.writeString(named, s.blobHex);
                }
            }
        }
        for (Staged s : staged) {
            Path dest = layers.resolve(s.diffId);
            if (s.dir == null && !Files.isDirectory(dest)) {
                throw new IOException("layer sha256:" + s.diffId + " was removed while this import ran; import again");
            }
            if (s.dir != null && !Files.exists(dest)) {
                Files.writeString(s.dir.resolve("size"), Long.toString(s.bytes));
                Files.move(s.dir, dest, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        fsyncDir(layers);
        List<Image> next = new ArrayList<>();
        Image existing = null;
        for (Image i : images) {
            if (i.id().equals(image.id())) {
                existing = i;
                continue;
            }
            List<String> kept = i.names().stream().filter(n -> !image.names().contains(n)).toList();
            next.add(kept.size() == i.names().size() ? i : i.withNames(kept));
        }
        Image result = image;
        if (existing != null) { // the same image again: it keeps its names and gains the new one
            Set<String> all = new java.util.LinkedHashSet<>(existing.names());
            all.addAll(image.names());
            result = new Image(existing.id(), List.copyOf(all), existing.layers(), existing.size(), existing.created(),
                    existing.importedAtMillis(), existing.config());
        }
        next.add(result);
        save(next);
        return result;
    }

    // ---- queries and removal ----------------------------------------------------------------------

    public synchronized List<Image> list() {
        List<Image> out = new ArrayList<>(images);
        out.sort(Comparator.comparingLong(Image::importedAtMillis).reversed());
        return out;
    }

    /** The image a reference names (a name:tag, or an id or a unique prefix of one). */
    public synchronized Image get(String ref) throws SpecException, ContainerException {
        return find(ImageRef.parse(ref, "image"))
                .orElseThrow(() -> new ContainerException(ContainerException.Kind.NOT_FOUND, "no image '" + ref + "'"));
    }

    synchronized Optional<Image> byId(String hex) {
        return images.stream().filter(i -> i.hex().equals(hex)).findFirst();
    }

    private Optional<Image> find(ImageRef ref) throws ContainerException {
        if (ref.idPrefix() != null) {
            List<Image> hits = images.stream().filter(i -> i.hex().startsWith(ref.idPrefix())).toList();
            if (hits.size() > 1) {
                throw new ContainerException(ContainerException.Kind.CONFLICT, "the id prefix '" + ref.idPrefix()
                        + "' matches " + hits.size() + " images; give more of it");
            }
            if (hits.size() == 1) {
                return Optional.of(hits.get(0));
            }
        }
        if (ref.name() == null) {
            return Optional.empty();
        }
        return images.stream().filter(i -> i.names().contains(ref.nameTag())).findFirst();
    }

    /** Gives an image another name (taken from any image that had it), as docker tag. */
    public synchronized Image tag(String ref, String newName) throws SpecException, ContainerException, IOException {
        String target = ImageRef.parse(newName, "name").nameTag();
        Image image = get(ref);
        if (target == null) {
            throw new SpecException("name", "'" + newName + "' is an id, not a NAME[:TAG]");
        }
        return commit(new Image(image.id(), List.of(target), image.layers(), image.size(), image.created(),
                image.importedAtMillis(), image.config()), List.of(), null);
    }

    /**
     * Removes a name, or the image when given its id or its last name; refused while a container uses it. Layers
     * no other image references are deleted.
     */
    public synchronized void remove(String ref) throws SpecException, ContainerException, IOException {
        remove(ref, false);
    }

    /**
     * As {@link #remove(String)}; with {@code force} an image that containers use loses all its names instead of
     * being refused (it stays, untagged, while they use it: their root filesystems are its layers), as docker rmi -f.
     */
    public synchronized void remove(String ref, boolean force) throws SpecException, ContainerException, IOException {
        ImageRef r = ImageRef.parse(ref, "image");
        Image image = get(ref);
        boolean byName = r.name() != null && image.names().contains(r.nameTag()) && image.names().size() > 1;
        if (byName) {
            List<Image> next = new ArrayList<>(images);
            next.replaceAll(i -> i == image ? i.withNames(i.names().stream().filter(n -> !n.equals(r.nameTag())).toList()) : i);
            save(next);
            return;
        }
        List<String> users = ContainerRootfs.usersOf(containers, image.hex());
        if (!users.isEmpty() && force) {
            List<Image> next = new ArrayList<>(images);
            next.replaceAll(i -> i == image ? i.withNames(List.of()) : i);
            save(next);
            return;
        }
        if (!users.isEmpty()) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "image " + ref + " is used by container"
                    + (users.size() > 1 ? "s " : " ") + String.join(", ", users) + "; remove "
                    + (users.size() > 1 ? "them" : "it") + " first");
        }
        List<Image> next = new ArrayList<>(images);
        next.remove(image);
        save(next);
        collectLayers();
    }

    /**
     * Removes images no container uses: those without a name (dangling), or with {@code all} every one; their
     * layers and blobs go with them. The removed ids and the bytes their layers held.
     */
    public synchronized Map<String, Object> prune(boolean all) throws IOException {
        List<Image> next = new ArrayList<>();
        List<String> deleted = new ArrayList<>();
        for (Image i : images) {
            if ((all || i.names().isEmpty()) && ContainerRootfs.usersOf(containers, i.hex()).isEmpty()) {
                deleted.add(i.id());
            } else {
                next.add(i);
            }
        }
        long before = layerBytes();
        if (!deleted.isEmpty()) {
            save(next);
        }
        collectLayers(); // also what an earlier crash left
        return Map.of("ImagesDeleted", deleted, "SpaceReclaimed", before - layerBytes());
    }

    private long layerBytes() throws IOException {
        long sum = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(layers)) {
            for (Path l : ds) {
                sum += layerSize(l.getFileName().toString());
            }
        }
        return sum;
    }

    /** The image's history as docker history shows it: see {@link ImageHistory}. */
    public synchronized List<Map<String, Object>> history(String ref) throws SpecException, ContainerException, IOException {
        return ImageHistory.of(this, get(ref));
    }

    /**
     * Deletes layers no image references (each renamed into tmp/ first, so none is ever seen half-deleted), then
     * blobs that are neither a remaining image's config nor a remaining layer's blob.
     */
    private synchronized void collectLayers() throws IOException {
        Set<String> used = new HashSet<>();
        Set<String> usedBlobs = new HashSet<>();
        images.forEach(i -> {
            i.layers().forEach(l -> used.add(l.substring(7)));
            usedBlobs.add(i.hex());
        });
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(layers)) {
            for (Path l : ds) {
                if (!used.contains(l.getFileName().toString())) {
                    Path trash = tmp.resolve("gone-" + UUID.randomUUID());
                    Files.move(l, trash, StandardCopyOption.ATOMIC_MOVE);
                    Trees.delete(trash);
                } else if (Files.exists(l.resolve("blob"))) {
                    usedBlobs.add(Files.readString(l.resolve("blob")).strip());
                }
            }
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(blobs)) {
            for (Path b : ds) {
                if (!usedBlobs.contains(b.getFileName().toString())) {
                    Files.deleteIfExists(b);
                }
            }
        }
    }

    long layerSize(String diffIdHex) {
        try {
            return Long.parseLong(Files.readString(layers.resolve(diffIdHex).resolve("size")).strip());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    private void save(List<Image> next) throws IOException {
        Path t = root.resolve("images.json.tmp");
        try (FileChannel ch = FileChannel.open(t, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(SpecParser.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(next)));
            ch.force(true);
        }
        Files.move(t, index, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDir(root);
        images = List.copyOf(next);
    }

    static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

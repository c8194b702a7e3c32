package dev.corral.agent.image;

import dev.corral.agent.ContainerException;
import dev.corral.agent.image.RegistryPuller.Credentials;
import dev.corral.agent.image.RegistryPuller.Progress;
import dev.corral.agent.image.RegistryPuller.RegistryException;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Pushes an image of the {@link ImageStore} to an OCI Distribution registry: each blob (the layers as they came,
 * then the config) is skipped when the registry has it ({@code HEAD}), mounted when another repository of the same
 * registry named by the image has it, else uploaded, in one {@code PUT} or, above the chunk size, in
 * {@code PATCH} chunks closed by a {@code PUT} with the digest; then the OCI image manifest under the tag. The
 * manifest is put last, so a push broken off leaves no tag naming missing blobs.
 */
public final class RegistryPusher {

    static final int DEFAULT_CHUNK = 16 << 20;

    private final ImageStore store;
    private final RegistryPuller transport;
    private final int chunk;

    /** @param chunk blobs larger than this go in PATCH chunks of this size */
    RegistryPusher(ImageStore store, RegistryPuller transport, int chunk) {
        this.store = store;
        this.transport = transport;
        this.chunk = chunk;
    }

    /** A pusher with the daemon's registry settings. */
    public static RegistryPusher forDaemon(ImageStore store) {
        return new RegistryPusher(store, RegistryPuller.forDaemon(store), DEFAULT_CHUNK);
    }

    /** Pushes the image named {@code refText} (NAME[:TAG], the registry its first part); the manifest's digest. */
    public String push(String refText, Credentials creds, Consumer<Progress> progress) throws IOException, SpecException,
            RegistryException, ContainerException, InterruptedException {
        ImageRef ref = ImageRef.parse(refText, "image");
        if (ref.name() == null) {
            throw new SpecException("image", "'" + refText + "' is an id; push needs NAME[:TAG]");
        }
        Image image = store.get(ref.nameTag());
        ImageBlobs blobs = ImageBlobs.of(store, image, ref.nameTag());
        RegistrySession s = transport.session(ref.registry(), ref.repository(), creds, "pull,push");
        progress.accept(new Progress(null, "The push refers to repository [" + ref.name() + "]", 0, 0));
        List<String> mountFrom = image.names().stream().map(n -> {
            try {
                return ImageRef.parse(n, "name");
            } catch (SpecException e) {
                return null;
            }
        }).filter(r -> r != null && r.registry().equals(ref.registry()) && !r.repository().equals(ref.repository()))
                .map(ImageRef::repository).distinct().toList();
        for (ImageBlobs.Layer l : blobs.layers()) {
            upload(s, l.hex(), l.size(), l.file(), null, mountFrom, progress);
        }
        byte[] config = blobs.config();
        upload(s, image.hex(), config.length, null, config, List.of(), progress);
        byte[] m = blobs.manifest();
        s.send("PUT", "/manifests/" + ref.tag(), Map.of("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                () -> HttpRequest.BodyPublishers.ofByteArray(m), Set.of(201)).body().close();
        String digest = "sha256:" + Digests.sha256Hex(m);
        progress.accept(new Progress(null, ref.tag() + ": digest: " + digest + " size: " + m.length, 0, 0));
        return digest;
    }

    /** One blob, from {@code file} or {@code bytes}: skipped, mounted, or uploaded whole or in chunks. */
    private void upload(RegistrySession s, String hex, long size, Path file, byte[] bytes, List<String> mountFrom,
                        Consumer<Progress> progress) throws IOException, RegistryException, InterruptedException {
        String id = hex.substring(0, 12);
        String digest = "sha256:" + hex;
        HttpResponse<InputStream> head = s.send("HEAD", "/blobs/" + digest, Map.of(), null, Set.of(200, 404));
        head.body().close();
        if (head.statusCode() == 200) {
            progress.accept(new Progress(id, "Layer already exists", size, size));
            return;
        }
        for (String from : mountFrom) {
            HttpResponse<InputStream> r;
            try {
                r = s.send("POST", "/blobs/uploads/?mount=" + digest + "&from="
                        + URLEncoder.encode(from, StandardCharsets.UTF_8), Map.of(), null, Set.of(201, 202));
            } catch (RegistryException e) {
                continue; // not allowed to read the other repository: upload it
            }
            r.body().close();
            if (r.statusCode() == 201) {
                progress.accept(new Progress(id, "Mounted from " + from, size, size));
                return;
            }
            // 202: the registry started an upload instead; it is left to expire, as Docker leaves it
        }
        progress.accept(new Progress(id, "Preparing", 0, size));
        HttpResponse<InputStream> start = s.send("POST", "/blobs/uploads/", Map.of(), null, Set.of(202));
        start.body().close();
        String location = location(s, start);
        if (size <= chunk) {
            byte[] all = bytes != null ? bytes : Files.readAllBytes(file);
            s.send("PUT", withDigest(location, digest), Map.of("Content-Type", "application/octet-stream"),
                    () -> HttpRequest.BodyPublishers.ofByteArray(all), Set.of(201)).body().close();
        } else {
            try (InputStream in = bytes != null ? new java.io.ByteArrayInputStream(bytes) : Files.newInputStream(file)) {
                long sent = 0;
                while (sent < size) {
                    byte[] part = in.readNBytes((int) Math.min(chunk, size - sent));
                    if (part.length == 0) {
                        throw new IOException("blob " + digest + " is shorter than its " + size + " bytes");
                    }
                    String range = sent + "-" + (sent + part.length - 1);
                    HttpResponse<InputStream> r = s.send("PATCH", location, Map.of("Content-Type",
                            "application/octet-stream", "Content-Range", range), () -> HttpRequest.BodyPublishers
                            .ofByteArray(part), Set.of(202));
                    r.body().close();
                    location = location(s, r);
                    sent += part.length;
                    progress.accept(new Progress(id, "Pushing", sent, size));
                }
            }
            s.send("PUT", withDigest(location, digest), Map.of(), null, Set.of(201)).body().close();
        }
        progress.accept(new Progress(id, "Pushed", size, size));
    }

    private static String location(RegistrySession s, HttpResponse<InputStream> r) throws RegistryException {
        String loc = r.headers().firstValue("Location").orElseThrow(() -> new RegistryException(502,
                "registry " + s.registry + " started an upload without a Location"));
        return s.uri(loc).toString();
    }

    private static String withDigest(String location, String digest) {
        return location + (location.contains("?") ? "&" : "?") + "digest=" + URLEncoder.encode(digest,
                StandardCharsets.UTF_8);
    }
}

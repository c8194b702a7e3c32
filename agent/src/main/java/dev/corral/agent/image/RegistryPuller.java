package dev.corral.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * Pulls an image from an OCI Distribution registry into the {@link ImageStore}: the manifest (an index is
 * resolved to its linux/amd64 image; Docker v2 schema 2 and OCI manifests), the config, then the layers the store
 * lacks, several at once, each hashed while it streams to a {@code .partial} file and renamed into the pull cache
 * only once its digest matched. The image is recorded by {@link ImageStore#importDirectory} (which checks every
 * digest and diff id again) only when all blobs are here: an interrupted pull leaves no image and no layer, only
 * verified blobs in the cache, which the next pull of the same image uses instead of fetching them again.
 *
 * <p>Written on java.net.http rather than with jib-core's registry client: jib-core brings Guava, Google's HTTP
 * client and its own image model (several MB) for the four requests needed here, and still needs its blobs
 * unpacked into this store's layout. Authentication: anonymous or basic credentials, either sent as HTTP basic
 * or exchanged for a bearer token at the realm the registry names (the Docker token flow).
 */
public final class RegistryPuller {

    static final String ACCEPT = String.join(", ",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json");
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private static final int PARALLEL = 3;
    private static final long MAX_JSON = 8L << 20;

    /** Credentials for a registry, or null for anonymous. */
    public record Credentials(String username, String password) {
    }

    /** One progress event: a layer (or the whole pull, id null) and its state. */
    public record Progress(String id, String status, long current, long total) {
    }

    /** A registry answered something we cannot use, or refused us. */
    public static final class RegistryException extends Exception {
        private final int status;

        RegistryException(int status, String message) {
            super(message);
            this.status = status;
        }

        /** The registry's HTTP status, or 0 when it could not be reached. */
        public int status() {
            return status;
        }
    }

    private static volatile Set<String> serveInsecure = Set.of();
    private static volatile SSLContext serveSsl;

    /**
     * The daemon's registry settings, from {@code serve --insecure-registry} and {@code --registry-ca}: set once at
     * start, before any pull (a static so the setting needs no change to the runtime's options).
     */
    public static void configure(Set<String> insecureRegistries, Path caFile) throws IOException {
        serveInsecure = Set.copyOf(insecureRegistries);
        serveSsl = caFile == null ? null : sslWith(caFile);
    }

    /** A puller with the daemon's settings. */
    public static RegistryPuller forDaemon(ImageStore store) {
        return new RegistryPuller(store, serveInsecure, serveSsl);
    }

    /** TLS trusting the system's CAs and those in a PEM file. */
    static SSLContext sslWith(Path caFile) throws IOException {
        try {
            java.security.KeyStore ks = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
            ks.load(null, null);
            javax.net.ssl.TrustManagerFactory sys = javax.net.ssl.TrustManagerFactory.getInstance(
                    javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            sys.init((java.security.KeyStore) null);
            int n = 0;
            for (javax.net.ssl.TrustManager tm : sys.getTrustManagers()) {
                if (tm instanceof javax.net.ssl.X509TrustManager x) {
                    for (java.security.cert.X509Certificate c : x.getAcceptedIssuers()) {
                        ks.setCertificateEntry("sys" + n++, c);
                    }
                }
            }
            try (InputStream in = Files.newInputStream(caFile)) {
                for (java.security.cert.Certificate c : java.security.cert.CertificateFactory.getInstance("X.509")
                        .generateCertificates(in)) {
                    ks.setCertificateEntry("ca" + n++, c);
                }
            }
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                    javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException(caFile + ": not a usable PEM CA file: " + e.getMessage(), e);
        }
    }

    private final ImageStore store;
    private final Set<String> insecure;
    private final HttpClient https;
    private final HttpClient http;

    /**
     * @param insecure registries ({@code host[:port]}) that may be reached over plain HTTP; those on 127.0.0.0/8
     *                 always may, as Docker allows
     * @param ssl      the TLS context (system CAs, or a given CA file), or null for the JDK's default
     */
    public RegistryPuller(ImageStore store, Set<String> insecure, SSLContext ssl) {
        this.store = store;
        this.insecure = Set.copyOf(insecure);
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(15))
                .followRedirects(HttpClient.Redirect.NORMAL);
        if (ssl != null) {
            b.sslContext(ssl);
        }
        this.https = b.build();
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(15))
                .followRedirects(HttpClient.Redirect.NORMAL).build();
    }

    /** Pulls {@code ref} for this machine's platform; see {@link #pull(String, Credentials, String, Consumer)}. */
    public Image pull(String refText, Credentials creds, Consumer<Progress> progress)
            throws IOException, SpecException, RegistryException, BadArchiveException, InterruptedException {
        return pull(refText, creds, null, progress);
    }

    /**
     * Pulls {@code ref} (NAME[:TAG], the registry as its first part) and records it under that name.
     *
     * @param platform OS/ARCH[/VARIANT] chosen from an image index, or null for this machine's (linux/amd64 here)
     */
    public Image pull(String refText, Credentials creds, String platform, Consumer<Progress> progress)
            throws IOException, SpecException, RegistryException, BadArchiveException, InterruptedException {
        ImageRef ref = ImageRef.parse(refText, "image");
        if (ref.name() == null) {
            throw new SpecException("image", "'" + refText + "' is an id; pull needs NAME[:TAG]");
        }
        Platform want = Platform.parse(platform);
        RegistrySession s = session(ref.registry(), ref.repository(), creds, "pull");
        progress.accept(new Progress(null, "Pulling from " + ref.repository() + " at " + ref.registry(), 0, 0));
        Path cache = store.pullCache().resolve(Digests.sha256Hex((ref.registry() + "/" + ref.repository())
                .getBytes(StandardCharsets.UTF_8)).substring(0, 16));
        Path blobs = Files.createDirectories(cache.resolve("blobs").resolve("sha256"));
        byte[] manifestBytes = s.get("/manifests/" + ref.tag(), ACCEPT, MAX_JSON, "the manifest");
        requests.incrementAndGet();
        JsonNode manifest = ImageArchive.JSON.readTree(manifestBytes);
        String manifestHex = Digests.sha256Hex(manifestBytes);
        if (manifest.has("manifests")) {
            JsonNode chosen = want.choose(manifest.path("manifests"));
            if (chosen == null) {
                throw new RegistryException(404, ref + ": the image index has no " + want + " image (it has "
                        + Platform.listed(manifest.path("manifests")) + "); --platform chooses another");
            }
            String hex = hexOf(chosen, "the index's " + want + " entry");
            manifestBytes = s.get("/manifests/sha256:" + hex, ACCEPT, MAX_JSON, "the manifest");
            manifestHex = checked(manifestBytes, hex, "the manifest");
            manifest = ImageArchive.JSON.readTree(manifestBytes);
        }
        if (manifest.path("schemaVersion").asInt() != 2 || !manifest.path("layers").isArray()) {
            throw new RegistryException(415, ref + ": the manifest is not a Docker v2 schema 2 or OCI image manifest");
        }
        String configHex = hexOf(manifest.path("config"), "the config");
        byte[] config = s.get("/blobs/sha256:" + configHex, "*/*", MAX_JSON, "the config");
        checked(config, configHex, "the config");
        Files.write(blobs.resolve(configHex), config);
        JsonNode diffIds = ImageArchive.JSON.readTree(config).path("rootfs").path("diff_ids");
        JsonNode layers = manifest.path("layers");
        if (diffIds.size() != layers.size()) {
            throw new RegistryException(415, ref + ": the manifest lists " + layers.size()
                    + " layers but the config has " + diffIds.size() + " diff ids");
        }
        ExecutorService pool = Executors.newFixedThreadPool(PARALLEL);
        try {
            List<Future<Void>> jobs = new ArrayList<>();
            for (int i = 0; i < layers.size(); i++) {
                JsonNode l = layers.get(i);
                String hex = hexOf(l, "layer " + i);
                String diff = diffIds.get(i).asText("").replaceFirst("^sha256:", "");
                String shortId = hex.substring(0, 12);
                if (Files.isDirectory(store.layerDir(diff)) || Files.exists(blobs.resolve(hex))) {
                    progress.accept(new Progress(shortId, "Already exists", 0, 0));
                    continue;
                }
                long size = l.path("size").asLong(-1);
                jobs.add(pool.submit(() -> {
                    download(s, hex, size, blobs, shortId, progress);
                    return null;
                }));
            }
            for (Future<Void> f : jobs) {
                f.get();
            }
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RegistryException re) {
                throw re;
            }
            if (c instanceof IOException io) {
                throw io;
            }
            throw new IOException(c);
        } finally {
            pool.shutdownNow();
        }
        // An OCI layout over the cache: blobs the store has as layers are absent, which the import accepts.
        Files.write(blobs.resolve(manifestHex), manifestBytes);
        Files.writeString(cache.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        ObjectNode index = ImageArchive.JSON.createObjectNode();
        index.put("schemaVersion", 2);
        index.putArray("manifests").addObject().put("mediaType", "application/vnd.oci.image.manifest.v1+json")
                .put("digest", "sha256:" + manifestHex).put("size", manifestBytes.length);
        ImageArchive.JSON.writeValue(cache.resolve("index.json").toFile(), index);
        progress.accept(new Progress(null, "Extracting", 0, 0));
        Image image = store.importDirectory(cache, ref.nameTag());
        Trees.delete(cache); // all of it is in the store now
        progress.accept(new Progress(null, "Digest: sha256:" + manifestHex, 0, 0));
        progress.accept(new Progress(null, "Status: Downloaded newer image for " + ref.nameTag(), 0, 0));
        return image;
    }

    private static String hexOf(JsonNode desc, String what) throws RegistryException {
        String d = desc.path("digest").asText("");
        if (!d.startsWith("sha256:") || !HEX64.matcher(d.substring(7)).matches()) {
            throw new RegistryException(415, what + ": digest '" + LayerUnpacker.printable(d)
                    + "' is not sha256:<64 hex>");
        }
        return d.substring(7);
    }

    private static String checked(byte[] b, String hex, String what) throws RegistryException {
        String got = Digests.sha256Hex(b);
        if (!got.equals(hex)) {
            throw new RegistryException(502, what + " sha256:" + hex + " from the registry does not match its digest: "
                    + "it hashes to sha256:" + got);
        }
        return got;
    }

    RegistrySession session(String registry, String repo, Credentials creds, String actions) {
        return new RegistrySession(https, http, insecure, registry, repo, creds, actions);
    }

    /** Blob requests sent (for tests that prove a layer the store has is not fetched again). */
    final java.util.concurrent.atomic.AtomicLong requests = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Checks credentials against a registry, as {@code docker login} does: {@code GET /v2/} answered 200 once
     * authenticated (for a token registry: the token service accepted them).
     */
    public void login(String registry, Credentials creds) throws IOException, RegistryException, InterruptedException {
        RegistrySession s = session(registry, null, creds, "pull");
        s.send("GET", "/v2/", java.util.Map.of(), null, Set.of(200)).body().close();
    }

    /** Streams a blob to {@code NAME.partial}, hashing it; renamed to its digest only when that matches. */
    private void download(RegistrySession s, String hex, long size, Path blobs, String id, Consumer<Progress> progress)
            throws IOException, RegistryException, InterruptedException {
        Path part = blobs.resolve(hex + ".partial");
        MessageDigest md = Digests.sha256();
        long done = 0;
        long last = 0;
        progress.accept(new Progress(id, "Pulling fs layer", 0, size));
        requests.incrementAndGet();
        HttpResponse<InputStream> r = s.send("GET", "/blobs/sha256:" + hex, java.util.Map.of("Accept", "*/*"), null,
                Set.of(200));
        try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(part)) {
            byte[] buf = new byte[64 << 10];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
                out.write(buf, 0, n);
                done += n;
                if (size >= 0 && done > size) {
                    break; // more than the manifest says: refused below, without reading the rest
                }
                long now = System.nanoTime();
                if (now - last > 200_000_000L) {
                    progress.accept(new Progress(id, "Downloading", done, size));
                    last = now;
                }
            }
        } catch (IOException e) {
            Files.deleteIfExists(part);
            throw new IOException("layer " + id + ": the download broke off after " + done + " bytes: "
                    + e.getMessage(), e);
        }
        String got = Digests.hex(md);
        if (!got.equals(hex) || size >= 0 && done != size) {
            Files.deleteIfExists(part);
            throw new RegistryException(502, "layer sha256:" + hex + " from the registry does not match its "
                    + "digest: its " + done + " bytes hash to sha256:" + got + "; nothing was stored");
        }
        Files.move(part, blobs.resolve(hex), StandardCopyOption.ATOMIC_MOVE);
        progress.accept(new Progress(id, "Download complete", done, size));
    }
}

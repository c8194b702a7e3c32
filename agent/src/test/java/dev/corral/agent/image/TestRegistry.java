package dev.corral.agent.image;

import static dev.corral.exporter.testing.Await.await;
import dev.corral.exporter.testing.Children;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real registry on 127.0.0.1 for tests: Debian's docker-registry (distribution 2.8) with a config written here
 * (optionally htpasswd basic auth), and images put there by skopeo. With CI=true a missing tool fails the test.
 */
public final class TestRegistry implements AutoCloseable {

    public final Path dir;
    public final int port;
    private final String htpasswd;
    private boolean tls;
    private String authYaml;
    private Process process;

    private TestRegistry(Path dir, int port, String htpasswd) {
        this.dir = dir;
        this.port = port;
        this.htpasswd = htpasswd;
    }

    /** Whether docker-registry and skopeo are here; with CI=true their absence is a failure, not a skip. */
    public static boolean available() {
        boolean here = Files.isExecutable(Path.of("/usr/bin/docker-registry")) && Files.isExecutable(Path.of("/usr/bin/skopeo"));
        if (!here && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("docker-registry and skopeo are needed (apt-get install docker-registry skopeo)");
        }
        return here;
    }

    /** Starts a registry; {@code user}/{@code password} non-null turns on htpasswd basic auth. */
    public static TestRegistry start(String user, String password) throws Exception {
        Path dir = Files.createTempDirectory("corral-test-registry");
        String htpasswd = null;
        if (user != null) {
            Children.Finished p = Children.run(new ProcessBuilder("htpasswd", "-Bbn", user, password)
                    .redirectErrorStream(true), Duration.ofSeconds(30));
            String line = p.output().strip();
            if (p.exitCode() != 0) {
                throw new AssertionError("htpasswd (apache2-utils) failed: " + line);
            }
            Files.writeString(dir.resolve("htpasswd"), line + "\n");
            htpasswd = dir.resolve("htpasswd").toString();
        }
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        TestRegistry r = new TestRegistry(dir, port, htpasswd);
        r.startProcess();
        return r;
    }

    /**
     * Starts a registry serving TLS with a certificate for 127.0.0.1 from a CA made here (openssl); the CA's
     * PEM is {@code dir/ca.pem}.
     */
    public static TestRegistry startTls() throws Exception {
        TestRegistry r = start(null, null);
        r.kill();
        Path d = r.dir;
        sh(d, "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=corral-test-ca -keyout ca.key -out ca.pem "
                + "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign");
        sh(d, "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr");
        Files.writeString(d.resolve("san.ext"), "subjectAltName=IP:127.0.0.1\n");
        sh(d, "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext "
                + "-out server.pem");
        r.tls = true;
        r.startProcess();
        return r;
    }

    /**
     * Starts a registry with token authentication: it trusts tokens signed by {@code tokenCert}'s key and sends
     * clients to {@code realm} for them, as Docker Hub does.
     */
    public static TestRegistry startToken(String realm, Path tokenCert) throws Exception {
        TestRegistry r = start(null, null);
        r.kill();
        r.authYaml = "auth:\n  token:\n    realm: " + realm + "\n    service: " + TokenServer.SERVICE
                + "\n    issuer: " + TokenServer.ISSUER + "\n    rootcertbundle: " + tokenCert + "\n";
        r.startProcess();
        return r;
    }

    static void sh(Path dir, String cmd) throws Exception {
        Children.Finished p = Children.run(new ProcessBuilder(List.of(cmd.split(" "))).directory(dir.toFile())
                .redirectErrorStream(true), Duration.ofSeconds(120));
        if (p.exitCode() != 0) {
            throw new AssertionError(cmd + " failed: " + p.output());
        }
    }

    public String host() {
        return "127.0.0.1:" + port;
    }

    /** (Re)starts the registry process on the same port and storage. */
    public void startProcess() throws Exception {
        StringBuilder cfg = new StringBuilder("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "
                + dir.resolve("data") + "\n  delete:\n    enabled: true\nhttp:\n  addr: \"127.0.0.1:" + port + "\"\n");
        if (htpasswd != null) {
            cfg.append("auth:\n  htpasswd:\n    realm: corral-test\n    path: ").append(htpasswd).append('\n');
        }
        if (authYaml != null) {
            cfg.append(authYaml);
        }
        if (tls) {
            cfg.append("  tls:\n    certificate: ").append(dir.resolve("server.pem")).append("\n    key: ")
                    .append(dir.resolve("server.key")).append('\n');
        }
        Files.writeString(dir.resolve("config.yml"), cfg);
        process = new ProcessBuilder("docker-registry", "serve", dir.resolve("config.yml").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();
        await(() -> {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return true;
            } catch (IOException e) {
                if (!process.isAlive()) {
                    throw new AssertionError("docker-registry exited: " + Files.readString(dir.resolve("registry.log")));
                }
                return false;
            }
        }, Duration.ofSeconds(20), "docker-registry to listen on " + port);
    }

    /** Kills the registry process (SIGKILL), as a registry that dies. */
    public void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Puts an archive (docker-archive or oci-archive) into the registry as NAME:TAG with skopeo. */
    public void push(Path archive, String transport, String nameTag, String creds) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("skopeo", "copy", "--quiet", "--dest-tls-verify=false"));
        if (creds != null) {
            cmd.add("--dest-creds=" + creds);
        }
        cmd.add(transport + ":" + archive);
        cmd.add("docker://" + host() + "/" + nameTag);
        Children.Finished p = Children.run(new ProcessBuilder(cmd).redirectErrorStream(true), Duration.ofSeconds(60));
        if (p.exitCode() != 0) {
            throw new AssertionError("skopeo copy failed: " + p.output());
        }
    }

    /** One entry of an image index: a manifest's digest and its platform. */
    public record Entry(String digest, String os, String architecture, String variant) {
    }

    private static final String V2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

    private java.net.http.HttpResponse<byte[]> http(java.net.http.HttpRequest.Builder b) throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(b.build(),
                java.net.http.HttpResponse.BodyHandlers.ofByteArray());
    }

    /** The digest of NAME:TAG's manifest (as skopeo stored it: Docker v2 schema 2), from the registry. */
    public String manifestDigest(String name, String tag) throws Exception {
        var r = http(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + host() + "/v2/" + name
                + "/manifests/" + tag)).header("Accept", V2_MANIFEST).method("HEAD",
                java.net.http.HttpRequest.BodyPublishers.noBody()));
        return r.headers().firstValue("Docker-Content-Digest").orElseThrow();
    }

    /** Puts a Docker manifest list (an image index) under NAME:TAG, listing manifests already in the repository. */
    public void putIndex(String name, String tag, List<Entry> entries) throws Exception {
        var root = dev.corral.agent.image.ImageArchive.JSON.createObjectNode();
        root.put("schemaVersion", 2).put("mediaType", "application/vnd.docker.distribution.manifest.list.v2+json");
        var list = root.putArray("manifests");
        for (Entry e : entries) {
            var size = http(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + host() + "/v2/" + name
                    + "/manifests/" + e.digest())).header("Accept", V2_MANIFEST)).body().length;
            var m = list.addObject().put("mediaType", V2_MANIFEST).put("digest", e.digest()).put("size", size);
            var p = m.putObject("platform").put("architecture", e.architecture()).put("os", e.os());
            if (e.variant() != null) {
                p.put("variant", e.variant());
            }
        }
        var r = http(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + host() + "/v2/" + name
                + "/manifests/" + tag)).header("Content-Type", "application/vnd.docker.distribution.manifest.list.v2+json")
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(
                        dev.corral.agent.image.ImageArchive.JSON.writeValueAsBytes(root))));
        if (r.statusCode() != 201) {
            throw new AssertionError("PUT index: " + r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8));
        }
    }

    @Override
    public void close() throws Exception {
        kill();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}

package dev.corral.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.image.RegistryPuller.Credentials;
import dev.corral.agent.image.RegistryPuller.RegistryException;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * One registry and repository as the OCI Distribution API sees them: requests under {@code /v2/REPO}, the
 * authentication the registry asks for on its first 401 (HTTP basic, or the Docker token flow: a bearer token
 * from the realm it names, fetched anonymously or with basic credentials, for the scope
 * {@code repository:REPO:ACTIONS}), HTTPS first and plain HTTP only for registries that may use it.
 */
final class RegistrySession {

    private static final Pattern PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");

    private final HttpClient https;
    private final HttpClient http;
    final String registry;
    final String repo;
    private final Credentials creds;
    private final String actions;
    private final boolean mayUseHttp;
    private volatile String scheme = "https";
    /** Why HTTPS failed when this session fell back to plain HTTP: a registry speaking TLS then answers 400. */
    private volatile String tlsFailure;
    private volatile String authorization;

    /**
     * @param repo    the repository, or null for requests to {@code /v2/} itself (a login check)
     * @param actions the token scope's actions: "pull", or "pull,push"
     */
    RegistrySession(HttpClient https, HttpClient http, Set<String> insecure, String registry, String repo,
                    Credentials creds, String actions) {
        this.https = https;
        this.http = http;
        this.registry = registry;
        this.repo = repo;
        this.creds = creds;
        this.actions = actions;
        this.mayUseHttp = insecure.contains(registry) || isLoopback(registry);
    }

    /** A literal address on 127.0.0.0/8 (or ::1): plain HTTP is allowed there, as Docker allows it. */
    static boolean isLoopback(String hostPort) {
        String host = hostPort.replaceFirst(":[0-9]+$", "").replaceAll("^\\[|\\]$", "");
        if (!host.matches("[0-9.]+|[0-9a-fA-F:]+")) {
            return false; // only literal addresses: no name lookup decides on plain HTTP
        }
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (IOException e) {
            return false;
        }
    }

    /** The URI of a path under the repository ({@code /blobs/...}), or of an upload location the registry gave. */
    URI uri(String pathOrLocation) {
        if (pathOrLocation.startsWith("http://") || pathOrLocation.startsWith("https://")) {
            return URI.create(pathOrLocation);
        }
        if (pathOrLocation.startsWith("/v2/")) {
            return URI.create(scheme + "://" + registry + pathOrLocation);
        }
        return URI.create(scheme + "://" + registry + "/v2/" + (repo == null ? "" : repo) + pathOrLocation);
    }

    byte[] get(String path, String accept, long max, String what)
            throws IOException, RegistryException, InterruptedException {
        HttpResponse<InputStream> r = send("GET", path, Map.of("Accept", accept), null, Set.of(200));
        try (InputStream in = r.body()) {
            byte[] b = in.readNBytes((int) max + 1);
            if (b.length > max) {
                throw new RegistryException(502, what + " from the registry is over " + max + " bytes");
            }
            return b;
        }
    }

    /**
     * One request, authenticating once on a 401. The body is a supplier so that it can be sent again after the
     * 401; a status not in {@code ok} is a {@link RegistryException} with the registry's own words.
     */
    HttpResponse<InputStream> send(String method, String path, Map<String, String> headers,
                                   Supplier<HttpRequest.BodyPublisher> body, Set<Integer> ok)
            throws IOException, RegistryException, InterruptedException {
        boolean authenticated = false;
        while (true) {
            HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofMinutes(10))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : body.get());
            headers.forEach(b::header);
            if (authorization != null) {
                b.header("Authorization", authorization);
            }
            HttpResponse<InputStream> r;
            try {
                r = (scheme.equals("https") ? https : http).send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (SSLException e) {
                if (mayUseHttp && scheme.equals("https")) {
                    scheme = "http"; // a registry that may use plain HTTP and does not speak TLS: as Docker, fall back
                    tlsFailure = e.getMessage();
                    continue;
                }
                throw new RegistryException(0, "registry " + registry + ": TLS failed: " + e.getMessage()
                        + (mayUseHttp ? "" : " (plain HTTP is used only for --insecure-registry and 127.0.0.0/8; "
                        + "a registry with its own CA needs serve --registry-ca)"));
            } catch (ConnectException e) {
                throw new RegistryException(0, "registry " + registry + " cannot be reached: "
                        + (e.getMessage() == null ? "connection refused" : e.getMessage()));
            }
            if (r.statusCode() == 401 && !authenticated) {
                authenticated = true; // once: a second 401 is the registry refusing these credentials
                r.body().close();
                authorization = authenticate(r.headers().firstValue("www-authenticate").orElse(""));
                continue;
            }
            if (!ok.contains(r.statusCode())) {
                String text;
                try (InputStream in = r.body()) {
                    text = new String(in.readNBytes(300), StandardCharsets.UTF_8).strip();
                }
                if (tlsFailure != null && r.statusCode() == 400 && text.contains("HTTPS server")) {
                    // Go's TLS server to a plain-HTTP request: the registry speaks TLS, with a certificate not trusted
                    throw new RegistryException(0, "registry " + registry + ": TLS failed: " + tlsFailure
                            + " (a registry with its own CA needs serve --registry-ca)");
                }
                throw new RegistryException(r.statusCode(), "registry " + registry + " answered " + r.statusCode()
                        + " to " + method + " " + (repo == null ? "/v2/" : repo + path) + (r.statusCode() == 401
                        ? " (unauthorized: corral login " + registry + " or docker login writes the credentials "
                        + "corral reads)" : "") + (text.isEmpty() ? "" : ": " + LayerUnpacker.printable(text)));
            }
            return r;
        }
    }

    private String authenticate(String challenge) throws IOException, RegistryException, InterruptedException {
        String basic = creds == null ? null : "Basic " + Base64.getEncoder().encodeToString(
                (creds.username() + ":" + creds.password()).getBytes(StandardCharsets.UTF_8));
        if (challenge.regionMatches(true, 0, "Basic", 0, 5)) {
            if (basic == null) {
                throw new RegistryException(401, "registry " + registry + " wants a user name and password: "
                        + "corral login " + registry + " (or docker login) writes the credentials corral reads");
            }
            return basic;
        }
        if (!challenge.regionMatches(true, 0, "Bearer", 0, 6)) {
            throw new RegistryException(401, "registry " + registry + " asks for an authentication scheme "
                    + "corral does not speak: " + LayerUnpacker.printable(challenge));
        }
        String realm = null;
        StringBuilder q = new StringBuilder();
        Matcher m = PARAM.matcher(challenge);
        while (m.find()) {
            if (m.group(1).equals("realm")) {
                realm = m.group(2);
            } else if (!m.group(1).equals("scope") || repo == null) {
                q.append(q.length() == 0 ? "?" : "&").append(m.group(1)).append('=')
                        .append(URLEncoder.encode(m.group(2), StandardCharsets.UTF_8));
            }
        }
        if (realm == null) {
            throw new RegistryException(401, "registry " + registry + ": a bearer challenge without a realm");
        }
        if (repo != null) { // the scope this session needs (a push needs more than the challenge of its first HEAD)
            q.append(q.length() == 0 ? "?" : "&").append("scope=")
                    .append(URLEncoder.encode("repository:" + repo + ":" + actions, StandardCharsets.UTF_8));
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(realm + q)).timeout(Duration.ofSeconds(30));
        if (basic != null) {
            b.header("Authorization", basic);
        }
        HttpResponse<byte[]> r;
        try {
            r = (realm.startsWith("https:") ? https : http).send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (ConnectException e) {
            throw new RegistryException(0, "registry " + registry + ": its token service " + realm
                    + " cannot be reached");
        }
        if (r.statusCode() != 200) {
            throw new RegistryException(401, "registry " + registry + ": the token service answered "
                    + r.statusCode() + (basic == null ? " (corral login " + registry + "?)" : " (wrong user name or password?)"));
        }
        JsonNode t = ImageArchive.JSON.readTree(r.body());
        String token = t.path("token").asText(t.path("access_token").asText(""));
        if (token.isEmpty()) {
            throw new RegistryException(401, "registry " + registry + ": the token service gave no token");
        }
        return "Bearer " + token;
    }
}

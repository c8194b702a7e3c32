package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.corral.agent.spec.SpecParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Registry credentials in Docker's client config ({@code $DOCKER_CONFIG/config.json}, else
 * {@code ~/.docker/config.json}): {@code auths.HOST.auth}, base64 of {@code user:password}, as {@code docker login}
 * writes them; {@code corral login} writes the same, so either tool's login serves both. Other keys are kept.
 */
final class DockerConfig {

    private DockerConfig() {
    }

    static Path file() {
        String env = System.getenv("DOCKER_CONFIG");
        return env != null && !env.isEmpty() ? Path.of(env, "config.json")
                : Path.of(System.getProperty("user.home"), ".docker", "config.json");
    }

    /** The keys a registry's entry may have: as written, with a scheme, or Docker Hub's legacy URL. */
    private static List<String> keys(String registry) {
        return registry.equals("registry-1.docker.io") || registry.equals("docker.io")
                ? List.of("https://index.docker.io/v1/", "registry-1.docker.io", "docker.io", "index.docker.io")
                : List.of(registry, "https://" + registry, "http://" + registry);
    }

    /** {@code {"username","password"}} for the registry, or null. */
    static Map<String, Object> credentials(String registry) {
        Path cfg = file();
        try {
            if (!Files.isReadable(cfg)) {
                return null;
            }
            JsonNode auths = SpecParser.JSON.readTree(cfg.toFile()).path("auths");
            for (String key : keys(registry)) {
                String auth = auths.path(key).path("auth").asText("");
                if (!auth.isEmpty()) {
                    String up = new String(Base64.getDecoder().decode(auth), StandardCharsets.UTF_8);
                    int colon = up.indexOf(':');
                    if (colon > 0) {
                        return Map.of("username", up.substring(0, colon), "password", up.substring(colon + 1));
                    }
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            return null; // unreadable config: pull anonymously, as the registry will then say
        }
        return null;
    }

    /** Stores (password non-null) or removes credentials; true when something changed. */
    static boolean store(String registry, String user, String password) throws IOException {
        Path cfg = file();
        ObjectNode root = Files.exists(cfg) && Files.size(cfg) > 0
                ? (ObjectNode) SpecParser.JSON.readTree(cfg.toFile()) : SpecParser.JSON.createObjectNode();
        ObjectNode auths = root.has("auths") && root.get("auths").isObject() ? (ObjectNode) root.get("auths")
                : root.putObject("auths");
        boolean changed = false;
        for (Iterator<String> it = auths.fieldNames(); it.hasNext(); ) {
            if (keys(registry).contains(it.next())) {
                it.remove();
                changed = true;
            }
        }
        if (password != null) {
            auths.putObject(keys(registry).get(0)).put("auth", Base64.getEncoder().encodeToString(
                    (user + ":" + password).getBytes(StandardCharsets.UTF_8)));
            changed = true;
        }
        if (!changed) {
            return false;
        }
        Files.createDirectories(cfg.toAbsolutePath().getParent());
        // Written to a 0600 file beside it, then renamed: the password is never readable by others, not even briefly.
        Path tmp = cfg.resolveSibling(cfg.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.write(tmp, SpecParser.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
            Files.move(tmp, cfg, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return true;
    }
}

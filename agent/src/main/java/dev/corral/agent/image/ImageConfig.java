package dev.corral.agent.image;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * What an image's config says a container runs with, unless its spec says otherwise.
 *
 * @param env  "NAME=value" entries
 * @param user "uid", "uid:gid", "name" or "name:group"; names are looked up in the image's /etc/passwd and /etc/group
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ImageConfig(List<String> entrypoint, List<String> cmd, List<String> env, String workingDir,
                          String user) {

    public static final ImageConfig EMPTY = new ImageConfig(null, null, null, null, null);

    /** From the "config" object of an OCI or Docker image config (absent fields stay null). */
    static ImageConfig of(JsonNode config) {
        if (config == null || !config.isObject()) {
            return EMPTY;
        }
        return new ImageConfig(strings(config.get("Entrypoint")), strings(config.get("Cmd")),
                strings(config.get("Env")), text(config.get("WorkingDir")), text(config.get("User")));
    }

    private static List<String> strings(JsonNode n) {
        if (n == null || !n.isArray()) {
            return null;
        }
        List<String> out = new ArrayList<>();
        n.forEach(e -> out.add(e.asText()));
        return List.copyOf(out);
    }

    private static String text(JsonNode n) {
        return n == null || !n.isTextual() || n.asText().isEmpty() ? null : n.asText();
    }
}

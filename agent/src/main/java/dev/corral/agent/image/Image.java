package dev.corral.agent.image;

import java.util.List;

/**
 * An imported image, as the store records it.
 *
 * @param id      "sha256:" and the digest of its config blob
 * @param names   "name:tag" references to it (possibly none)
 * @param layers  diff ids ("sha256:..." of each uncompressed layer tar), the base layer first
 * @param size    bytes of regular files in its layers
 * @param created the "created" time its config gives, or null
 */
public record Image(String id, List<String> names, List<String> layers, long size, String created,
                    long importedAtMillis, ImageConfig config) {

    public String hex() {
        return id.substring("sha256:".length());
    }

    Image withNames(List<String> n) {
        return new Image(id, List.copyOf(n), layers, size, created, importedAtMillis, config);
    }
}

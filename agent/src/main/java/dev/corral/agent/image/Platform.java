package dev.corral.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.spec.SpecException;
import java.util.ArrayList;
import java.util.List;

/** An image index entry's platform, OS/ARCH[/VARIANT], as {@code --platform} names it. */
record Platform(String os, String architecture, String variant) {

    /** This machine's platform, in the OCI's names (Java's amd64 and aarch64 are amd64 and arm64). */
    static Platform host() {
        String arch = System.getProperty("os.arch");
        return new Platform("linux", switch (arch) {
            case "x86_64", "amd64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            default -> arch;
        }, null);
    }

    /** OS/ARCH[/VARIANT], or the host's for null or empty. */
    static Platform parse(String text) throws SpecException {
        if (text == null || text.isEmpty()) {
            return host();
        }
        String[] p = text.split("/", -1);
        if (p.length < 2 || p.length > 3 || List.of(p).stream().anyMatch(x -> !x.matches("[a-z0-9_.-]+"))) {
            throw new SpecException("platform", "'" + LayerUnpacker.printable(text) + "' is not OS/ARCH[/VARIANT] "
                    + "(e.g. linux/arm64/v8)");
        }
        return new Platform(p[0], p[1], p.length == 3 ? p[2] : null);
    }

    /** The first entry of an index's manifests for this platform (any variant when none is asked for), or null. */
    JsonNode choose(JsonNode manifests) {
        for (JsonNode m : manifests) {
            JsonNode p = m.path("platform");
            if (p.path("os").asText().equals(os) && p.path("architecture").asText().equals(architecture)
                    && (variant == null || variant.equals(p.path("variant").asText()))) {
                return m;
            }
        }
        return null;
    }

    /** The platforms an index lists, for an error message. */
    static String listed(JsonNode manifests) {
        List<String> out = new ArrayList<>();
        for (JsonNode m : manifests) {
            JsonNode p = m.path("platform");
            out.add(p.path("os").asText("?") + "/" + p.path("architecture").asText("?")
                    + (p.hasNonNull("variant") ? "/" + p.path("variant").asText() : ""));
        }
        return String.join(", ", out);
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (variant == null ? "" : "/" + variant);
    }
}

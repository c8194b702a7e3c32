package dev.corral.agent.image;

import dev.corral.agent.spec.SpecException;
import java.util.regex.Pattern;

/**
 * A reference to an image: {@code NAME[:TAG]} (tag "latest" when left out), or an id: {@code sha256:HEX} or at
 * least 12 leading hex digits of it (a hex-only reference is tried as an id first, then as a name).
 */
public record ImageRef(String name, String tag, String idPrefix) {

    // An optional registry host[:port]/ first (as Docker's grammar allows), then the path components.
    private static final Pattern NAME = Pattern.compile("([a-zA-Z0-9.-]+:[0-9]{1,5}/)?"
            + "[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final Pattern HEX = Pattern.compile("[0-9a-f]{12,64}");

    public static ImageRef parse(String ref, String field) throws SpecException {
        if (ref == null || ref.isEmpty()) {
            throw new SpecException(field, "is required: NAME[:TAG] or an image id");
        }
        if (ref.startsWith("sha256:")) {
            String hex = ref.substring(7);
            if (!hex.matches("[0-9a-f]{64}")) {
                throw new SpecException(field, "'" + printable(ref) + "' is not an image id (sha256: and 64 hex digits)");
            }
            return new ImageRef(null, null, hex);
        }
        int colon = ref.lastIndexOf(':');
        String name = colon > ref.lastIndexOf('/') && colon >= 0 ? ref.substring(0, colon) : ref;
        String tag = name.length() == ref.length() ? null : ref.substring(colon + 1);
        if (tag == null && HEX.matcher(ref).matches()) {
            return new ImageRef(ref, "latest", ref); // an id prefix, or else a name that looks like one
        }
        if (name.length() > 255 || !NAME.matcher(name).matches()) {
            throw new SpecException(field, "'" + printable(ref) + "' is not an image name: lower-case letters, "
                    + "digits and '.', '_', '-' between them, '/' between parts, then an optional :TAG");
        }
        if (tag != null && !TAG.matcher(tag).matches()) {
            throw new SpecException(field, "'" + printable(tag) + "' is not a tag: 1-128 letters, digits, '_', '.' "
                    + "or '-', not starting with '.' or '-'");
        }
        return new ImageRef(name, tag == null ? "latest" : tag, null);
    }

    /**
     * The registry a name is pulled from: its first part when that looks like a host (has '.' or ':', or is
     * localhost), else Docker Hub, as Docker reads names.
     */
    public String registry() {
        int slash = name.indexOf('/');
        String first = slash < 0 ? "" : name.substring(0, slash);
        return slash > 0 && (first.contains(".") || first.contains(":") || first.equals("localhost"))
                ? first : "registry-1.docker.io";
    }

    /** The repository in the registry: the name without its registry; Docker Hub's official images under library/. */
    public String repository() {
        String reg = registry();
        if (name.startsWith(reg + "/")) {
            return name.substring(reg.length() + 1);
        }
        return name.contains("/") ? name : "library/" + name;
    }

    /** {@code name:tag}, or null for an id. */
    public String nameTag() {
        return name == null ? null : name + ":" + tag;
    }

    @Override
    public String toString() {
        return name == null ? "sha256:" + idPrefix : name.equals(idPrefix) ? name : nameTag();
    }

    private static String printable(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s.replaceAll("\\p{Cntrl}", "?");
    }
}

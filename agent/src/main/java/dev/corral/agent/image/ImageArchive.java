package dev.corral.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Reads an unpacked image archive: an OCI image layout (oci-layout, index.json, blobs/sha256/...) or a
 * {@code docker save} archive (manifest.json). Only the manifest and config are read here; the layers are
 * named with the digests they must have, which the store checks as it reads them.
 */
final class ImageArchive {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private static final long MAX_JSON = 8L << 20;

    /**
     * @param blobDigest hex sha256 of the file as stored, or null when the format gives none (docker-save layers,
     *                   which are checked by their diff id)
     * @param diffId     hex sha256 of the uncompressed layer tar, from the image config
     */
    record Layer(String blob, String blobDigest, String diffId) {
    }

    /**
     * @param source where the layers' blobs are read from
     * @param name   the reference the archive gives the image ("name:tag"), or null
     */
    record Plan(ArchiveSource source, byte[] config, List<Layer> layers, String name) {
        String configHex() {
            return Digests.sha256Hex(config);
        }
    }

    private final ArchiveSource src;

    private ImageArchive(ArchiveSource src) {
        this.src = src;
    }

    static boolean isImageLayout(ArchiveSource src) throws IOException {
        return src.has("index.json") || src.has("manifest.json");
    }

    static Plan read(ArchiveSource src) throws IOException, BadArchiveException {
        ImageArchive a = new ImageArchive(src);
        return src.has("index.json") ? a.oci() : a.dockerSave();
    }

    // ---- OCI image layout ---------------------------------------------------------------------------

    private Plan oci() throws IOException, BadArchiveException {
        JsonNode layout = json("oci-layout");
        if (!layout.path("imageLayoutVersion").isTextual()) {
            throw new BadArchiveException("oci-layout: no imageLayoutVersion; not an OCI image layout");
        }
        JsonNode index = json("index.json");
        JsonNode desc = single(index.path("manifests"), "index.json");
        String name = refName(desc.path("annotations").path("org.opencontainers.image.ref.name").asText(null));
        JsonNode manifest = blobJson(desc);
        if (manifest.has("manifests")) { // a nested index (multi-platform): the linux/amd64 image
            JsonNode chosen = null;
            for (JsonNode m : manifest.path("manifests")) {
                JsonNode p = m.path("platform");
                if (p.path("os").asText("linux").equals("linux") && p.path("architecture").asText("amd64").equals("amd64")) {
                    chosen = m;
                    break;
                }
            }
            if (chosen == null) {
                throw new BadArchiveException("index.json: no linux/amd64 image in the nested index");
            }
            manifest = blobJson(chosen);
        }
        JsonNode configDesc = manifest.path("config");
        byte[] config = blob(configDesc, "the config");
        List<String> diffIds = diffIds(config);
        JsonNode layers = manifest.path("layers");
        if (!layers.isArray() || layers.size() != diffIds.size()) {
            throw new BadArchiveException("the manifest lists " + layers.size() + " layers but the config has "
                    + diffIds.size() + " diff ids");
        }
        List<Layer> out = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            String digest = digestHex(layers.get(i), "layer " + i);
            out.add(new Layer(blobPath(digest), digest, diffIds.get(i)));
        }
        return new Plan(src, config, out, name);
    }

    private JsonNode blobJson(JsonNode desc) throws IOException, BadArchiveException {
        byte[] b = blob(desc, "the manifest");
        try {
            return JSON.readTree(b);
        } catch (IOException e) {
            throw new BadArchiveException("the manifest " + desc.path("digest").asText() + " is not JSON");
        }
    }

    /** A small blob read and checked against its descriptor's digest and size. */
    private byte[] blob(JsonNode desc, String what) throws IOException, BadArchiveException {
        String hex = digestHex(desc, what);
        byte[] b = src.readSmall(blobPath(hex), MAX_JSON, what + " blob");
        String got = Digests.sha256Hex(b);
        if (!got.equals(hex)) {
            throw new BadArchiveException("blob sha256:" + hex + " (" + what + ") does not match its digest: its "
                    + "content hashes to sha256:" + got);
        }
        if (desc.has("size") && desc.path("size").asLong() != b.length) {
            throw new BadArchiveException("blob sha256:" + hex + " (" + what + ") is " + b.length + " bytes, its "
                    + "descriptor says " + desc.path("size").asLong());
        }
        return b;
    }

    private String digestHex(JsonNode desc, String what) throws BadArchiveException {
        String d = desc.path("digest").asText("");
        if (!d.startsWith("sha256:") || !HEX64.matcher(d.substring(7)).matches()) {
            throw new BadArchiveException(what + ": digest '" + LayerUnpacker.printable(d) + "' is not sha256:<64 hex>");
        }
        return d.substring(7);
    }

    private static String blobPath(String hex) {
        return "blobs/sha256/" + hex;
    }

    // ---- docker save ------------------------------------------------------------------------------

    private Plan dockerSave() throws IOException, BadArchiveException {
        JsonNode manifest = single(json("manifest.json"), "manifest.json");
        String configName = manifest.path("Config").asText("");
        byte[] config = src.readSmall(configName, MAX_JSON, "the config " + configName);
        String fileHex = Path.of(configName).getFileName().toString().replaceFirst("\\.json$", "");
        String hex = Digests.sha256Hex(config);
        if (HEX64.matcher(fileHex).matches() && !fileHex.equals(hex)) {
            throw new BadArchiveException("the config " + configName + " does not match its digest: its content "
                    + "hashes to sha256:" + hex);
        }
        List<String> diffIds = diffIds(config);
        JsonNode layers = manifest.path("Layers");
        if (!layers.isArray() || layers.size() != diffIds.size()) {
            throw new BadArchiveException("manifest.json lists " + layers.size() + " layers but the config has "
                    + diffIds.size() + " diff ids");
        }
        List<Layer> out = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            String path = layers.get(i).asText("");
            String blobHex = path.startsWith("blobs/sha256/") ? path.substring(13) : null;
            if (!src.has(path)) {
                throw new BadArchiveException("the archive has no layer file '" + LayerUnpacker.printable(path) + "'");
            }
            out.add(new Layer(path, blobHex != null && HEX64.matcher(blobHex).matches() ? blobHex : null,
                    diffIds.get(i)));
        }
        JsonNode tags = manifest.path("RepoTags");
        String name = tags.isArray() && !tags.isEmpty() ? refName(tags.get(0).asText(null)) : null;
        return new Plan(src, config, out, name);
    }

    // ---- shared -----------------------------------------------------------------------------------

    private static List<String> diffIds(byte[] config) throws BadArchiveException {
        JsonNode c;
        try {
            c = JSON.readTree(config);
        } catch (IOException e) {
            throw new BadArchiveException("the image config is not JSON: " + e.getMessage());
        }
        JsonNode ids = c.path("rootfs").path("diff_ids");
        if (!ids.isArray() || ids.isEmpty()) {
            throw new BadArchiveException("the image config has no rootfs.diff_ids");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode id : ids) {
            String s = id.asText("");
            if (!s.startsWith("sha256:") || !HEX64.matcher(s.substring(7)).matches()) {
                throw new BadArchiveException("the image config has a bad diff id '" + LayerUnpacker.printable(s) + "'");
            }
            out.add(s.substring(7));
        }
        return out;
    }

    private static JsonNode single(JsonNode list, String what) throws BadArchiveException {
        if (!list.isArray() || list.isEmpty()) {
            throw new BadArchiveException(what + " lists no image");
        }
        if (list.size() > 1) {
            throw new BadArchiveException(what + " lists " + list.size() + " images; import archives of one image");
        }
        return list.get(0);
    }

    /** An archive's own name for the image, kept only if it is a valid reference (a bare tag is not). */
    private static String refName(String ref) {
        if (ref == null || ref.indexOf(':') < 0 && ref.indexOf('/') < 0) {
            return null;
        }
        try {
            String r = ref.startsWith("docker.io/library/") ? ref.substring(18) : ref;
            return ImageRef.parse(r, "name").nameTag();
        } catch (dev.corral.agent.spec.SpecException e) {
            return null;
        }
    }

    private JsonNode json(String name) throws IOException, BadArchiveException {
        try {
            return JSON.readTree(src.readSmall(name, MAX_JSON, name));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadArchiveException(name + " is not JSON: " + e.getOriginalMessage());
        }
    }
}

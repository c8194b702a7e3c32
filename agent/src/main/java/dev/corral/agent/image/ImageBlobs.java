package dev.corral.agent.image;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An image of the store as blobs, for push and save: its config blob, its layers' blobs as they came, and an OCI
 * image manifest naming them (layer media types by each blob's first bytes).
 */
record ImageBlobs(Image image, byte[] config, List<Layer> layers, byte[] manifest) {

    record Layer(String hex, long size, String mediaType, Path file) {
    }

    static ImageBlobs of(ImageStore store, Image image, String what) throws IOException, SpecException {
        byte[] config = store.configBlob(image);
        if (config == null) {
            throw new SpecException("image", what + " was stored before corral kept images' blobs; "
                    + "pull or import it again");
        }
        List<Layer> layers = new ArrayList<>();
        ObjectNode manifest = ImageArchive.JSON.createObjectNode();
        manifest.put("schemaVersion", 2).put("mediaType", "application/vnd.oci.image.manifest.v1+json");
        manifest.putObject("config").put("mediaType", "application/vnd.oci.image.config.v1+json")
                .put("digest", image.id()).put("size", config.length);
        ArrayNode list = manifest.putArray("layers");
        for (String layer : image.layers()) {
            Path blob = store.layerBlob(layer.substring(7));
            if (blob == null) {
                throw new SpecException("image", what + ": layer " + layer + " was stored before corral kept "
                        + "layers' blobs; pull or import the image again");
            }
            Layer l = new Layer(blob.getFileName().toString(), Files.size(blob), mediaType(blob), blob);
            layers.add(l);
            list.addObject().put("mediaType", l.mediaType()).put("digest", "sha256:" + l.hex()).put("size", l.size());
        }
        return new ImageBlobs(image, config, layers, ImageArchive.JSON.writeValueAsBytes(manifest));
    }

    String manifestHex() {
        return Digests.sha256Hex(manifest);
    }

    /** OCI layer media type by the blob's first bytes: gzip, zstd, or a plain tar. */
    private static String mediaType(Path blob) throws IOException {
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(blob)) {
            in.readNBytes(head, 0, 4);
        }
        if ((head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
            return "application/vnd.oci.image.layer.v1.tar+gzip";
        }
        if ((head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5 && (head[2] & 0xff) == 0x2f
                && (head[3] & 0xff) == 0xfd) {
            return "application/vnd.oci.image.layer.v1.tar+zstd";
        }
        return "application/vnd.oci.image.layer.v1.tar";
    }
}

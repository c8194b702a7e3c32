package dev.corral.agent.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** docker history's rows for an image of the store. */
final class ImageHistory {

    private ImageHistory() {
    }

    /**
     * The image's history as docker history shows it, newest first: the config's history entries, each that made
     * a layer with that layer's id and size ({@code Id} is the image's on the newest, "<missing>" on the others).
     * An image without history in its config gets one row per layer.
     */
    static List<Map<String, Object>> of(ImageStore store, Image image) throws IOException {
        byte[] config = store.configBlob(image);
        JsonNode hist = config == null ? null : ImageArchive.JSON.readTree(config).path("history");
        List<Map<String, Object>> rows = new ArrayList<>();
        int layer = 0;
        if (hist != null && hist.isArray() && !hist.isEmpty()) {
            for (JsonNode h : hist) {
                boolean empty = h.path("empty_layer").asBoolean(false);
                long size = !empty && layer < image.layers().size() ? store.layerSize(image.layers().get(layer++).substring(7)) : 0;
                Map<String, Object> row = new java.util.LinkedHashMap<>();
                row.put("Id", "<missing>");
                row.put("Created", h.path("created").asText(""));
                row.put("CreatedBy", h.path("created_by").asText(""));
                row.put("Size", size);
                row.put("Comment", h.path("comment").asText(""));
                rows.add(row);
            }
        } else {
            for (String l : image.layers()) {
                Map<String, Object> row = new java.util.LinkedHashMap<>();
                row.put("Id", "<missing>");
                row.put("Created", image.created() == null ? "" : image.created());
                row.put("CreatedBy", "");
                row.put("Size", store.layerSize(l.substring(7)));
                row.put("Comment", "layer " + l);
                rows.add(row);
            }
        }
        java.util.Collections.reverse(rows);
        if (!rows.isEmpty()) {
            rows.get(0).put("Id", image.id());
            rows.get(0).put("Tags", image.names());
        }
        return rows;
    }
}

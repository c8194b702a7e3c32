package dev.corral.agent.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** image history and prune on a real store: rows from the config's history, layers and blobs deleted on disk. */
@Tag("root")
class ImageStoreUpkeepTest {

    @TempDir
    Path tmp;

    @Test
    void historyIsTheConfigsNewestFirstWithLayerSizes() throws Exception {
        ImageStore store = ImageStore.open(tmp.resolve("state"));
        ObjectNode config = (ObjectNode) ImageArchive.JSON.readTree(TestImages.twoLayerConfig());
        var h = config.putArray("history");
        h.addObject().put("created", "2026-01-01T00:00:00Z").put("created_by", "ADD busybox /");
        h.addObject().put("created", "2026-01-02T00:00:00Z").put("created_by", "ENV FROM_IMAGE=yes")
                .put("empty_layer", true);
        h.addObject().put("created", "2026-01-03T00:00:00Z").put("created_by", "RUN rm /etc/gone");
        Image img = store.importArchive(TestImages.write(tmp, "h.tar", TestImages.ociArchive(TestImages.twoLayers(),
                ImageArchive.JSON.writeValueAsBytes(config), null, true)), "corral/hist:v1");
        List<Map<String, Object>> rows = store.history("corral/hist:v1");
        assertThat(rows).extracting(r -> r.get("CreatedBy")).containsExactly("RUN rm /etc/gone",
                "ENV FROM_IMAGE=yes", "ADD busybox /");
        assertThat(rows.get(0).get("Id")).isEqualTo(img.id());
        assertThat(rows.get(1).get("Id")).isEqualTo("<missing>");
        assertThat(rows.get(1).get("Size")).isEqualTo(0L);
        assertThat((Long) rows.get(2).get("Size")).isEqualTo(store.layerSize(img.layers().get(0).substring(7)))
                .isGreaterThan(500_000L); // busybox
    }

    @Test
    void pruneRemovesUnnamedImagesThenWithAllEveryUnusedOneAndTheirLayers() throws Exception {
        ImageStore store = ImageStore.open(tmp.resolve("state"));
        Image named = store.importArchive(TestImages.write(tmp, "a.tar", TestImages.ociArchive(TestImages.twoLayers(),
                TestImages.twoLayerConfig(), null, true)), "corral/keep:v1");
        byte[] base = TestImages.baseLayer();
        Image unnamed = store.importArchive(TestImages.write(tmp, "b.tar", TestImages.dockerArchive(List.of(base),
                TestImages.config(List.of(base), List.of("true"), List.of(), "/"), null)), null);
        assertThat(unnamed.names()).isEmpty();

        Map<String, Object> first = store.prune(false);
        assertThat(first.get("ImagesDeleted")).isEqualTo(List.of(unnamed.id()));
        assertThat(store.list()).extracting(Image::id).containsExactly(named.id());
        // The base layer is shared with the named image: it stays, so nothing is reclaimed.
        assertThat(first.get("SpaceReclaimed")).isEqualTo(0L);

        Map<String, Object> all = store.prune(true);
        assertThat(all.get("ImagesDeleted")).isEqualTo(List.of(named.id()));
        assertThat((Long) all.get("SpaceReclaimed")).isGreaterThan(500_000L);
        for (String dir : List.of("layers", "blobs/sha256")) {
            try (Stream<Path> s = Files.list(tmp.resolve("state/images").resolve(dir))) {
                assertThat(s.toList()).as(dir).isEmpty();
            }
        }
    }
}

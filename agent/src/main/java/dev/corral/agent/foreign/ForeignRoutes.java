package dev.corral.agent.foreign;

import dev.corral.exporter.Exporter;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;

/**
 * {@code GET /v1/foreign-containers}: the containers other runtimes started (Docker, Podman, containerd, CRI-O,
 * Kubernetes), with what Corral knows about them. Read-only: Corral does not start, stop or remove them.
 */
public final class ForeignRoutes {

    private ForeignRoutes() {
    }

    public static void addTo(Router router, ForeignContainers foreign, Exporter exporter) {
        router.get("/foreign-containers").order(-1).handler(ctx -> {
            JsonArray list = new JsonArray();
            for (ForeignContainers.Listed c : foreign.list(exporter.latest())) {
                JsonObject labels = new JsonObject();
                c.identity().labels().forEach(labels::put);
                list.add(new JsonObject()
                        .put("name", c.identity().name())
                        .put("runtime", c.runtime())
                        .put("containerId", c.containerId())
                        .put("cgroup", c.cgroup())
                        .put("image", c.identity().image())
                        .put("pod", c.identity().pod())
                        .put("namespace", c.identity().namespace())
                        .put("container", c.identity().container())
                        .put("podUid", c.podUid())
                        .put("qosClass", c.qosClass())
                        .put("labels", labels)
                        .put("readOnly", true));
            }
            ctx.response().putHeader("content-type", "application/json").end(list.encode());
        });
    }
}

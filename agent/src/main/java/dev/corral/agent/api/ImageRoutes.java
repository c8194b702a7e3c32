package dev.corral.agent.api;

import dev.corral.agent.image.BadArchiveException;
import dev.corral.agent.image.ImageRef;
import dev.corral.agent.image.ImageStore;
import dev.corral.agent.spec.SpecException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.file.Path;
import java.util.UUID;

/**
 * /v1/images: import (the archive is the request body, streamed to a staging file without passing through
 * memory or the event loop's blocking calls), list, inspect, remove. Unpacking runs on a worker thread.
 */
final class ImageRoutes {

    private final Vertx vertx;
    private final ImageStore store;
    private final ApiRoutes api;

    ImageRoutes(Vertx vertx, ImageStore store, ApiRoutes api) {
        this.vertx = vertx;
        this.store = store;
        this.api = api;
    }

    /** Must come before a body handler: the import reads its own body. */
    void addTo(Router r) {
        r.post("/images").handler(this::importImage);
        r.get("/images").handler(ctx -> api.blocking(ctx, 200, store::list));
        r.get("/images/:ref").handler(ctx -> api.blocking(ctx, 200, () -> store.get(ctx.pathParam("ref"))));
        r.delete("/images/:ref").handler(ctx -> api.blocking(ctx, 204, () -> {
            store.remove(ctx.pathParam("ref"));
            return null;
        }));
    }

    private void importImage(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        req.pause();
        String name = ctx.queryParams().get("name");
        try {
            if (name != null) {
                ImageRef.parse(name, "name");
            }
        } catch (SpecException e) {
            ApiError.fail(ctx, e);
            return;
        }
        if ("100-continue".equalsIgnoreCase(req.getHeader("expect"))) {
            req.response().writeContinue(); // curl waits a second for this before it sends a large body
        }
        Path upload = store.stagingDir().resolve("upload-" + UUID.randomUUID());
        vertx.fileSystem().open(upload.toString(), new OpenOptions().setCreateNew(true).setWrite(true))
                .compose(req::pipeTo)
                .compose(v -> vertx.executeBlocking(() -> {
                    try {
                        return store.importArchive(upload, name);
                    } catch (BadArchiveException e) {
                        throw new SpecException("archive", e.getMessage());
                    }
                }, false))
                .eventually(() -> vertx.fileSystem().delete(upload.toString()).recover(t -> Future.succeededFuture()))
                .onSuccess(image -> api.blocking(ctx, 201, () -> image))
                .onFailure(t -> ApiError.fail(ctx, t));
    }
}

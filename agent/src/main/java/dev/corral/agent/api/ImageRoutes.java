package dev.corral.agent.api;

import dev.corral.agent.image.BadArchiveException;
import dev.corral.agent.image.ImageRef;
import dev.corral.agent.image.ImageStore;
import dev.corral.agent.spec.SpecException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.file.OpenOptions;
import dev.corral.agent.image.RegistryPuller;
import dev.corral.agent.image.RegistryPusher;
import dev.corral.agent.image.ImageSaver;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import dev.corral.agent.spec.SpecParser;
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
        r.post("/images/pull").handler(ctx -> transfer(ctx, false));
        r.post("/images/push").handler(ctx -> transfer(ctx, true));
        r.post("/auth").handler(this::login);
        r.post("/images/:ref/tag").handler(ctx -> api.blocking(ctx, 201,
                () -> store.tag(ctx.pathParam("ref"), ctx.queryParams().get("name"))));
        r.get("/images").handler(ctx -> api.blocking(ctx, 200, store::list));
        r.get("/images/save").handler(this::save); // before /images/:ref, which "save" would match
        r.get("/images/:ref").handler(ctx -> api.blocking(ctx, 200, () -> store.get(ctx.pathParam("ref"))));
        r.delete("/images/:ref").handler(ctx -> api.blocking(ctx, 204, () -> {
            store.remove(ctx.pathParam("ref"), "true".equals(ctx.queryParams().get("force")));
            return null;
        }));
        r.get("/images/:ref/history").handler(ctx -> api.blocking(ctx, 200, () -> store.history(ctx.pathParam("ref"))));
        r.post("/images/prune").handler(ctx -> api.blocking(ctx, 200,
                () -> store.prune("true".equals(ctx.queryParams().get("all")))));
    }

    /**
     * Pulls {@code ?ref=NAME[:TAG]} from its registry (or pushes it there: then the last line is
     * {@code {"status":"done","digest":...}}), answering with a stream of progress (one JSON object a
     * line, as Docker's pull does): {@code {"id","status","current","total"}}, then {@code {"status":"done",
     * "image":{...}}} or {@code {"error":"..."}} (the status line was sent before the outcome was known).
     * Credentials, if any, come as the body: {@code {"username","password"}}.
     */
    private void transfer(RoutingContext ctx, boolean push) {
        String ref = ctx.queryParams().get("ref");
        String platform = ctx.queryParams().get("platform");
        try {
            if (platform != null && !platform.matches("[a-z0-9_.-]+/[a-z0-9_.-]+(/[a-z0-9_.-]+)?")) {
                throw new SpecException("platform", "'" + platform + "' is not OS/ARCH[/VARIANT]");
            }
            ImageRef r = ImageRef.parse(ref, "ref");
            if (r.name() == null) {
                throw new SpecException("ref", "'" + ref + "' is an image id; " + (push ? "push" : "pull")
                        + " needs NAME[:TAG]");
            }
        } catch (SpecException e) {
            ApiError.fail(ctx, e);
            return;
        }
        ctx.request().body().onFailure(t -> ApiError.fail(ctx, t)).onSuccess(body -> {
            RegistryPuller.Credentials creds;
            try {
                creds = credentials(body.toString(StandardCharsets.UTF_8));
            } catch (SpecException e) {
                ApiError.fail(ctx, e);
                return;
            }
            HttpServerResponse resp = ctx.response().setChunked(true)
                    .putHeader("content-type", "application/x-ndjson").setStatusCode(200);
            resp.write(""); // the head now: the client shows progress as it comes
            Context vctx = vertx.getOrCreateContext();
            java.util.function.Consumer<RegistryPuller.Progress> progress = p -> {
                String line = new JsonObject().put("id", p.id()).put("status", p.status())
                        .put("current", p.current()).put("total", p.total()).encode() + "\n";
                vctx.runOnContext(v -> {
                    if (!resp.ended()) {
                        resp.write(line);
                    }
                });
            };
            vertx.executeBlocking(() -> push
                    ? new JsonObject().put("status", "done").put("digest",
                            RegistryPusher.forDaemon(store).push(ref, creds, progress))
                    : new JsonObject().put("status", "done").put("image", new JsonObject(SpecParser.JSON
                            .writeValueAsString(RegistryPuller.forDaemon(store).pull(ref, creds, platform, progress)))),
                    false).onComplete(ar -> {
                        JsonObject last = ar.succeeded() ? ar.result()
                                : new JsonObject().put("error", message(ar.cause()));
                        if (!resp.ended()) {
                            resp.end(last.encode() + "\n");
                        }
                    });
        });
    }

    /**
     * Checks registry credentials, as Docker's POST /auth: body {@code {"serveraddress","username","password"}};
     * 200 {@code {"Status":"Login Succeeded"}}, or 401 with the registry's refusal. Nothing is stored here: the
     * client keeps the credentials and sends them with each pull or push.
     */
    private void login(RoutingContext ctx) {
        ctx.request().body().onFailure(t -> ApiError.fail(ctx, t)).onSuccess(body -> {
            String server;
            RegistryPuller.Credentials creds;
            try {
                creds = credentials(body.toString(StandardCharsets.UTF_8));
                server = new JsonObject(body).getString("serveraddress");
                if (creds == null || server == null || !server.matches("[A-Za-z0-9.-]+(:[0-9]{1,5})?")) {
                    throw new SpecException("serveraddress", "a registry HOST[:PORT], username and password are "
                            + "required");
                }
            } catch (SpecException e) {
                ApiError.fail(ctx, e);
                return;
            } catch (RuntimeException e) {
                ApiError.fail(ctx, new SpecException("body", "is not JSON {\"serveraddress\",\"username\",\"password\"}"));
                return;
            }
            vertx.executeBlocking(() -> {
                RegistryPuller.forDaemon(store).login(server, creds);
                return null;
            }, false).onSuccess(v -> api.blocking(ctx, 200, () -> java.util.Map.of("Status", "Login Succeeded")))
                    .onFailure(t -> {
                        if (t instanceof RegistryPuller.RegistryException e) {
                            // 403, not 401: a 401 from this API means the daemon's own token was refused
                            ApiError.send(ctx, e.status() == 401 ? 403 : 502, e.getMessage(), "password");
                        } else {
                            ApiError.fail(ctx, t);
                        }
                    });
        });
    }

    /**
     * {@code ?ref=A&ref=B}: the images as one tar (OCI layout and docker save's manifest.json, see
     * {@link ImageSaver}), written to a staging file on a worker thread, then sent and deleted.
     */
    private void save(RoutingContext ctx) {
        java.util.List<String> refs = ctx.queryParams().getAll("ref");
        Path file = store.stagingDir().resolve("save-" + UUID.randomUUID());
        vertx.executeBlocking(() -> {
            if (refs.isEmpty()) {
                throw new SpecException("ref", "is required: one or more images to save");
            }
            try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(file)) {
                new ImageSaver(store).save(refs, out);
            } catch (Exception e) {
                java.nio.file.Files.deleteIfExists(file);
                throw e;
            }
            return file;
        }, false).onFailure(t -> ApiError.fail(ctx, t)).onSuccess(f -> ctx.response()
                .putHeader("content-type", "application/x-tar").sendFile(f.toString())
                .onComplete(ar -> vertx.fileSystem().delete(f.toString())));
    }

    private static String message(Throwable t) {
        if (t instanceof SpecException e) {
            return e.field() + ": " + e.problem();
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    /** The optional body: {@code {"username","password"}} for the registry. */
    private static RegistryPuller.Credentials credentials(String body) throws SpecException {
        if (body.isBlank()) {
            return null;
        }
        try {
            JsonObject o = new JsonObject(body);
            return o.getString("username") == null ? null
                    : new RegistryPuller.Credentials(o.getString("username"), o.getString("password", ""));
        } catch (RuntimeException e) {
            throw new SpecException("body", "is not JSON {\"username\",\"password\"}");
        }
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

package dev.corral.agent.api;

import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.runtime.Copy;
import dev.corral.agent.spec.SpecParser;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;

/**
 * {@code corral cp} over the API, after Docker's archive routes: {@code GET /containers/{name}/archive?path=P} a tar
 * of P (its top entry named as P's last component) with Docker's {@code X-Docker-Container-Path-Stat} header,
 * {@code HEAD} that header alone, {@code GET .../archive/stat} the same as JSON, {@code PUT .../archive?path=DIR}
 * a tar extracted into the existing directory DIR ({@code copyUIDGID=true}: the archive's owners). The container's
 * files are only ever touched by corral-shim cp, confined to its root ({@link Copy}).
 */
final class CopyRoutes {

    static final String STAT_HEADER = "X-Docker-Container-Path-Stat";

    private final Vertx vertx;
    private final ContainerRuntime runtime;
    private final ApiRoutes api;

    CopyRoutes(Vertx vertx, ContainerRuntime runtime, ApiRoutes api) {
        this.vertx = vertx;
        this.runtime = runtime;
        this.api = api;
    }

    /** Before the body handler: a PUT's body is streamed to a file. */
    void addTo(Router r) {
        r.get("/containers/:name/archive/stat").handler(ctx -> api.blocking(ctx, 200,
                () -> runtime.copyStat(api.name(ctx), ctx.queryParams().get("path"))));
        r.head("/containers/:name/archive").handler(this::head);
        r.get("/containers/:name/archive").handler(this::get);
        r.put("/containers/:name/archive").handler(this::put);
    }

    private static String statHeader(Copy.PathStat stat) throws IOException {
        return Base64.getEncoder().encodeToString(SpecParser.JSON.writeValueAsBytes(Map.of("name", stat.name(),
                "size", stat.size(), "mode", stat.mode(), "mtime", stat.mtime(), "linkTarget", stat.linkTarget())));
    }

    private void head(RoutingContext ctx) {
        String path = ctx.queryParams().get("path");
        vertx.executeBlocking(() -> statHeader(runtime.copyStat(api.name(ctx), path)), false)
                .onSuccess(h -> ctx.response().putHeader(STAT_HEADER, h).end())
                .onFailure(t -> ApiError.fail(ctx, t));
    }

    private record Started(String name, String header, Process process) {
    }

    private void get(RoutingContext ctx) {
        String path = ctx.queryParams().get("path");
        vertx.executeBlocking(() -> {
            String name = api.name(ctx);
            String header = statHeader(runtime.copyStat(name, path));
            return new Started(name, header, runtime.copyOut(name, path));
        }, false).onSuccess(s -> {
            HttpServerResponse resp = ctx.response().setChunked(true).putHeader("content-type", "application/x-tar")
                    .putHeader(STAT_HEADER, s.header());
            resp.closeHandler(v -> {
                if (!resp.ended()) {
                    s.process().destroyForcibly(); // the client went away
                }
            });
            Thread t = new Thread(() -> pump(ctx, resp, s, path), "corral-cp-" + s.name());
            t.setDaemon(true);
            t.start();
        }).onFailure(t -> ApiError.fail(ctx, t));
    }

    /**
     * The tar, at the client's pace. A copy that fails after the answer's head was sent (a file vanished, a read
     * error) cannot change the status any more: the connection is closed before the tar's end, which the client
     * reports as a truncated archive.
     */
    private void pump(RoutingContext ctx, HttpServerResponse resp, Started s, String path) {
        Process p = s.process();
        byte[] buf = new byte[65536];
        try (InputStream in = p.getInputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                resp.write(Buffer.buffer().appendBytes(buf, 0, n)).toCompletionStage().toCompletableFuture().get();
            }
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            int code = p.waitFor();
            if (code == 0) {
                vertx.runOnContext(v -> resp.end());
            } else {
                org.slf4j.LoggerFactory.getLogger(CopyRoutes.class).warn("copy of {} from '{}' failed: {}", path,
                        s.name(), err);
                vertx.runOnContext(v -> ctx.request().connection().close());
            }
        } catch (IOException | ExecutionException e) {
            p.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
    }

    private void put(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        req.pause();
        String path = ctx.queryParams().get("path");
        boolean keepOwner = ApiRoutes.bool(ctx, "copyUIDGID");
        if ("100-continue".equalsIgnoreCase(req.getHeader("expect"))) {
            req.response().writeContinue();
        }
        Path upload = runtime.images().stagingDir().resolve("cp-" + UUID.randomUUID() + ".tar");
        vertx.fileSystem().mkdirs(upload.getParent().toString())
                .compose(v -> vertx.fileSystem().open(upload.toString(), new OpenOptions().setCreateNew(true)
                        .setWrite(true)))
                .compose(req::pipeTo)
                .compose(v -> vertx.executeBlocking(() -> {
                    runtime.copyIn(api.name(ctx), path, upload, keepOwner);
                    return null;
                }, false))
                .eventually(() -> vertx.executeBlocking(() -> Files.deleteIfExists(upload), false)
                        .recover(t -> Future.succeededFuture()))
                .onSuccess(v -> ctx.response().setStatusCode(200).end())
                .onFailure(t -> ApiError.fail(ctx, t));
    }
}

package dev.corral.agent.server;

import dev.corral.agent.api.ApiError;
import dev.corral.agent.api.ApiToken;
import dev.corral.exporter.Exporter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import dev.corral.exporter.metrics.MetricsPage;
import io.netty.buffer.Unpooled;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The HTTP routes: /metrics (Prometheus text format), /healthz and, when the runtime runs, the /v1 API. */
final class HttpRoutes {

    private static final Logger LOG = LoggerFactory.getLogger(HttpRoutes.class);
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private HttpRoutes() {
    }

    /**
     * @param api   the /v1 API, or null when the agent only observes
     * @param token required for /v1 when not null (TCP); the unix socket passes null
     */
    static Router router(Vertx vertx, PrometheusMeterRegistry registry, Exporter exporter, Duration interval,
                         Router api, ApiToken token) {
        Router router = Router.router(vertx);
        if (api != null) {
            if (token != null) {
                Counter unauthorized = Counter.builder("corral.api.unauthorized")
                        .description("API requests refused for a missing or wrong bearer token").register(registry);
                router.route("/v1/*").handler(ctx -> {
                    if (token.accepts(ctx.request().getHeader("authorization"))) {
                        ctx.next();
                    } else {
                        unauthorized.increment();
                        ctx.response().setStatusCode(401).putHeader("content-type", "application/json")
                                .putHeader("www-authenticate", "Bearer")
                                .end(new JsonObject().put("error", "a valid bearer token is required").encode());
                    }
                });
            }
            router.route("/v1/*").subRouter(api);
        }
        // Rendering thousands of series takes milliseconds of CPU: keep it off the event loop. One thread of its
        // own: renders are serialized anyway (one per snapshot), and on the shared worker pool every scrape would
        // start another of its 20 threads until all exist, each with its own stack and malloc arena.
        MetricsPage page = exporter.metricsPage();
        WorkerExecutor metricsThread = vertx.createSharedWorkerExecutor("corral-metrics", 1);
        router.get("/metrics").handler(ctx -> {
            if (GzipMetrics.accepted(ctx.request().getHeader("accept-encoding"))) {
                metricsThread.executeBlocking(() -> GzipMetrics.compress(page.render()), false)
                        .onSuccess(gzipped -> sendGzipped(ctx.response(), gzipped))
                        .onFailure(ctx::fail);
            } else {
                metricsThread.executeBlocking(page::render, false)
                        .onSuccess(body -> sendMetrics(ctx.response(), body))
                        .onFailure(ctx::fail);
            }
        });
        router.get("/healthz").handler(ctx -> health(ctx, exporter, interval));
        // Failures that happen before a route answers (body too large, no route) still get a JSON error.
        router.errorHandler(400, ctx -> ApiError.send(ctx, 400, "the request could not be read", null));
        router.errorHandler(404, ctx -> ApiError.send(ctx, 404, "no such route: " + ctx.request().path(), null));
        router.errorHandler(405, ctx -> ApiError.send(ctx, 405, "method not allowed", null));
        router.errorHandler(413, ctx -> ApiError.send(ctx, 413, "the request body is too large", null));
        router.errorHandler(500, ctx -> {
            // the cause is only in the log: the client learns nothing it could act on
            LOG.error("{} {} failed", ctx.request().method(), ctx.request().path(), ctx.failure());
            ApiError.send(ctx, 500, "internal error", null);
        });
        return router;
    }

    /** The body's parts go out as they are (wrapped, not copied into one buffer): 2 MB at 1,000 cgroups. */
    private static void sendMetrics(HttpServerResponse response, MetricsPage.Body body) {
        response.putHeader("content-type", PROMETHEUS_TEXT).putHeader("vary", "accept-encoding")
                .putHeader("content-length", Integer.toString(body.length()));
        response.write(wrap(body.containers()));
        response.write(wrap(body.self()));
        response.end(wrap(body.machine()));
    }

    private static void sendGzipped(HttpServerResponse response, byte[] gzipped) {
        response.putHeader("content-type", PROMETHEUS_TEXT).putHeader("content-encoding", "gzip")
                .putHeader("vary", "accept-encoding")
                .putHeader("content-length", Integer.toString(gzipped.length))
                .end(BufferInternal.buffer(Unpooled.wrappedBuffer(gzipped)));
    }

    private static Buffer wrap(MetricsPage.Body.Part part) {
        return BufferInternal.buffer(Unpooled.wrappedBuffer(part.bytes(), 0, part.length()));
    }

    /** Healthy while collection keeps up: the last snapshot is at most three intervals old. */
    private static void health(RoutingContext ctx, Exporter exporter, Duration interval) {
        long age = System.currentTimeMillis() - exporter.latest().timestampMillis();
        boolean ok = age <= 3 * interval.toMillis() + 1000;
        ctx.response().setStatusCode(ok ? 200 : 503).putHeader("content-type", "application/json")
                .end(new JsonObject().put("status", ok ? "ok" : "stale").put("lastCollectionAgeMillis", age)
                        .put("cgroupMode", exporter.layout().mode().label()).encode());
    }
}

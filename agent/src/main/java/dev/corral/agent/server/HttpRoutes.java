package dev.corral.agent.server;

import dev.corral.exporter.Exporter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;

/** The HTTP routes: /metrics (Prometheus text format) and /healthz. */
final class HttpRoutes {

    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private HttpRoutes() {
    }

    static Router router(Vertx vertx, PrometheusMeterRegistry registry, Exporter exporter, Duration interval) {
        Router router = Router.router(vertx);
        // Rendering thousands of series takes milliseconds of CPU: keep it off the event loop.
        router.get("/metrics").handler(ctx -> vertx.executeBlocking(registry::scrape, false)
                .onSuccess(body -> ctx.response().putHeader("content-type", PROMETHEUS_TEXT).end(body))
                .onFailure(ctx::fail));
        router.get("/healthz").handler(ctx -> health(ctx, exporter, interval));
        router.errorHandler(500, ctx -> ctx.response().setStatusCode(500)
                .putHeader("content-type", "application/json")
                .end(new JsonObject().put("error", "internal error").encode()));
        return router;
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

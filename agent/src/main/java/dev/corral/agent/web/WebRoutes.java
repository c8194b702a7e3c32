package dev.corral.agent.web;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * GET / and /web/* on the open listener, next to /metrics: the page (from the jar's resources, loaded once: no
 * network, no file system lookups at request time) and its read-only JSON and stream. Nothing here changes state;
 * that stays under /v1 behind the token. The content security policy lets the page run only its own script and
 * style, so markup that reached it through user data (container names, labels) could not run.
 */
public final class WebRoutes {

    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    private static final Map<String, String> FILES = Map.of("index.html", "text/html; charset=utf-8",
            "app.js", "text/javascript; charset=utf-8", "app.css", "text/css; charset=utf-8",
            "favicon.svg", "image/svg+xml");

    private WebRoutes() {
    }

    public static void addTo(Router router, WebPage page) {
        Map<String, Buffer> files = new java.util.HashMap<>();
        FILES.keySet().forEach(f -> files.put(f, resource(f)));
        router.get("/").handler(ctx -> file(ctx, files, "index.html"));
        router.get("/web/stream").handler(ctx -> {
            long since;
            try {
                String s = ctx.queryParams().get("since");
                since = s == null ? System.currentTimeMillis() : Long.parseLong(s);
            } catch (NumberFormatException e) {
                dev.corral.agent.api.ApiError.send(ctx, 400, "must be milliseconds since the epoch", "since");
                return;
            }
            page.streams.open(ctx, since);
        });
        router.get("/web/state").handler(ctx -> json(ctx, page, page::state));
        router.get("/web/policy").handler(ctx -> json(ctx, page, page::policyView));
        router.get("/web/container").handler(ctx -> {
            String id = ctx.queryParams().get("id");
            if (id == null) {
                dev.corral.agent.api.ApiError.send(ctx, 400, "the cgroup path is required", "id");
                return;
            }
            json(ctx, page, () -> page.container(id));
        });
        for (String f : FILES.keySet()) {
            router.get("/web/" + f).handler(ctx -> file(ctx, files, f));
        }
    }

    private static void file(RoutingContext ctx, Map<String, Buffer> files, String name) {
        ctx.response().putHeader("content-type", FILES.get(name)).putHeader("content-security-policy", CSP)
                .putHeader("x-content-type-options", "nosniff").putHeader("cache-control", "no-cache")
                .end(files.get(name));
    }

    private static void json(RoutingContext ctx, WebPage page, java.util.concurrent.Callable<JsonObject> body) {
        page.onWebThread(body).onSuccess(o -> {
            if (o == null) {
                dev.corral.agent.api.ApiError.send(ctx, 404, "no such cgroup", "id");
            } else {
                ctx.response().putHeader("content-type", "application/json").putHeader("cache-control", "no-cache")
                        .end(o.encode());
            }
        }).onFailure(ctx::fail);
    }

    private static Buffer resource(String name) {
        try (InputStream in = WebRoutes.class.getClassLoader().getResourceAsStream("web/" + name)) {
            if (in == null) {
                throw new IllegalStateException("web/" + name + " is missing from the jar");
            }
            return Buffer.buffer(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package dev.corral.agent.api;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Reads a request's whole body as bytes, up to a limit (413 over it), whatever content type the client claims:
 * every body of this API is JSON. Vert.x's BodyHandler decodes a form content type's body as form fields
 * instead (curl -d sends one), and its decoder's field-size limits failed a JSON body of ~150 KB with a 400 while
 * it took smaller ones.
 */
final class RawBody implements Handler<RoutingContext> {

    private static final String KEY = "corral.body";

    private final long limit;

    RawBody(long limit) {
        this.limit = limit;
    }

    /** The body read by this handler (empty for none). */
    static byte[] of(RoutingContext ctx) {
        Buffer b = ctx.get(KEY);
        return b == null ? new byte[0] : b.getBytes();
    }

    @Override
    public void handle(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        if (ctx.get(KEY) != null) { // routed again (e.g. a 404 after a sub-router): read already
            ctx.next();
            return;
        }
        long declared = contentLength(req);
        if (declared > limit) {
            tooLarge(ctx);
            return;
        }
        if (req.isEnded()) { // nothing more to come (the router pauses requests until a handler reads them)
            ctx.put(KEY, Buffer.buffer());
            ctx.next();
            return;
        }
        if ("100-continue".equalsIgnoreCase(req.getHeader("expect"))) {
            req.response().writeContinue();
        }
        Buffer body = Buffer.buffer(declared > 0 ? (int) declared : 1024);
        boolean[] over = {false};
        req.handler(chunk -> {
            if (over[0]) {
                return; // drained: the 413 has gone out
            }
            if ((long) body.length() + chunk.length() > limit) {
                over[0] = true;
                tooLarge(ctx);
            } else {
                body.appendBuffer(chunk);
            }
        });
        req.endHandler(v -> {
            if (!over[0]) {
                ctx.put(KEY, body);
                ctx.next();
            }
        });
        req.exceptionHandler(t -> {
            if (!over[0] && !ctx.failed()) {
                ctx.fail(400, t);
            }
        });
        req.resume();
    }

    /** Answered here: the router's own 413 would not say the limit. */
    private void tooLarge(RoutingContext ctx) {
        ApiError.send(ctx, 413, "the request body is over " + limit + " bytes", null);
    }

    private static long contentLength(HttpServerRequest req) {
        try {
            String v = req.getHeader("content-length");
            return v == null ? -1 : Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}

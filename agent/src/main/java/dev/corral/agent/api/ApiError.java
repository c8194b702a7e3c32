package dev.corral.agent.api;

import dev.corral.agent.ContainerException;
import dev.corral.agent.spec.SpecException;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Turns failures into JSON errors with the right status; never a stack trace to the client. */
public final class ApiError {

    private static final Logger LOG = LoggerFactory.getLogger(ApiError.class);

    private ApiError() {
    }

    public static void send(RoutingContext ctx, int status, String message, String field) {
        send(ctx, status, message, field, null);
    }

    /** @param exitCode the exit code a failed start stands for (docker run's 126/127), or null */
    static void send(RoutingContext ctx, int status, String message, String field, Integer exitCode) {
        HttpServerResponse r = ctx.response();
        if (r.ended() || r.headWritten()) {
            if (!r.ended()) {
                r.end(); // a stream already started: the status cannot change any more
            }
            return;
        }
        JsonObject body = new JsonObject().put("error", message);
        if (field != null) {
            body.put("field", field);
        }
        if (exitCode != null) {
            body.put("exitCode", exitCode);
        }
        r.setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
    }

    static void fail(RoutingContext ctx, Throwable t) {
        if (t instanceof SpecException e) {
            send(ctx, 400, e.problem(), e.field(), e.exitCode());
        } else if (t instanceof BadRequest e) {
            send(ctx, 400, e.getMessage(), e.field());
        } else if (t instanceof ContainerException e) {
            int status = switch (e.kind()) {
                case NOT_FOUND -> 404;
                case CONFLICT -> 409;
                case FAILED -> 500;
            };
            if (status == 500) {
                LOG.warn("{} {} failed: {}", ctx.request().method(), ctx.request().path(), e.getMessage());
            }
            send(ctx, status, e.getMessage(), null);
        } else {
            LOG.error("{} {} failed", ctx.request().method(), ctx.request().path(), t);
            send(ctx, 500, "internal error: " + t.getClass().getSimpleName(), null);
        }
    }

    /** A bad query or path parameter. */
    static final class BadRequest extends Exception {
        private final String field;

        BadRequest(String field, String message) {
            super(message);
            this.field = field;
        }

        String field() {
            return field;
        }
    }
}

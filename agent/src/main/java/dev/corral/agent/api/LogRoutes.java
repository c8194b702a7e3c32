package dev.corral.agent.api;

import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /v1/containers/{name}/logs}: the log files read off the event loop, sent as they grow when following
 * (docs/api.md).
 */
final class LogRoutes {

    private final Vertx vertx;
    private final ContainerRuntime runtime;
    private final ApiRoutes api;

    LogRoutes(Vertx vertx, ContainerRuntime runtime, ApiRoutes api) {
        this.vertx = vertx;
        this.runtime = runtime;
        this.api = api;
    }

    void addTo(Router r) {
        r.get("/containers/:name/logs").handler(this::logs);
    }

    private void logs(RoutingContext ctx) {
        boolean follow = ApiRoutes.bool(ctx, "follow");
        String stream = ctx.queryParams().get("stream") == null ? "both" : ctx.queryParams().get("stream");
        vertx.executeBlocking(() -> {
            ContainerRecord record = runtime.inspect(api.name(ctx));
            List<LogFiles> files = new ArrayList<>();
            switch (stream) {
                case "stdout", "stderr" -> files.add(new LogFiles(runtime.logDir(record.name()).resolve(stream + ".log")));
                case "both" -> {
                    files.add(new LogFiles(runtime.logDir(record.name()).resolve("stdout.log")));
                    files.add(new LogFiles(runtime.logDir(record.name()).resolve("stderr.log")));
                }
                default -> throw new ApiError.BadRequest("stream", "must be stdout, stderr or both");
            }
            int tail = ApiRoutes.intParam(ctx, "tail", -1, -1, Integer.MAX_VALUE);
            long since = time(ctx, "since", Long.MIN_VALUE);
            long until = time(ctx, "until", Long.MAX_VALUE);
            boolean timestamps = ApiRoutes.bool(ctx, "timestamps");
            for (LogFiles f : files) {
                f.tail(tail);
                if (timestamps || since != Long.MIN_VALUE || until != Long.MAX_VALUE) {
                    f.timed(since, until, timestamps);
                }
            }
            return files;
        }, false).onSuccess(files -> {
            HttpServerResponse resp = ctx.response().setChunked(true)
                    .putHeader("content-type", "text/plain; charset=utf-8");
            resp.writeHead(); // now: a client that follows from here (attach) knows its starting point is taken
            pumpLogs(ctx, resp, files, follow);
        }).onFailure(t -> ApiError.fail(ctx, t));
    }

    /**
     * Docker's since/until: a Unix time, seconds with an optional fraction ("1700000000.123456789"), as its CLI
     * sends them; in ns.
     */
    static long time(RoutingContext ctx, String param, long dflt) throws ApiError.BadRequest {
        String v = ctx.queryParams().get(param);
        if (v == null || v.isEmpty() || (param.equals("since") && v.equals("0"))) {
            return dflt;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(-?[0-9]{1,12})(?:\\.([0-9]{1,9}))?").matcher(v);
        if (!m.matches()) {
            throw new ApiError.BadRequest(param, "'" + v + "' is not a Unix time (seconds[.fraction])");
        }
        long seconds = Long.parseLong(m.group(1));
        long nanos = m.group(2) == null ? 0 : Long.parseLong((m.group(2) + "00000000").substring(0, 9));
        return seconds * 1_000_000_000L + (seconds < 0 ? -nanos : nanos);
    }

    /** Sends what the files have; when following, polls every 100 ms until the container has exited. */
    private void pumpLogs(RoutingContext ctx, HttpServerResponse resp, List<LogFiles> files, boolean follow) {
        String name = ctx.pathParam("name");
        vertx.executeBlocking(() -> {
            boolean live = follow && runtime.inspect(name).state().isLive();
            Buffer out = Buffer.buffer();
            for (LogFiles f : files) {
                for (byte[] chunk = f.next(); chunk.length > 0; chunk = f.next()) {
                    out.appendBytes(chunk);
                }
                if (!live) {
                    out.appendBytes(f.rest()); // a last line without a newline
                }
            }
            return Map.entry(out, live);
        }, true).onSuccess(result -> {
            if (resp.closed()) {
                return;
            }
            if (result.getKey().length() > 0) {
                resp.write(result.getKey());
            }
            if (result.getValue()) {
                vertx.setTimer(100, id -> pumpLogs(ctx, resp, files, true));
            } else {
                resp.end();
            }
        }).onFailure(t -> {
            if (!resp.closed()) {
                resp.end();
            }
        });
    }
}

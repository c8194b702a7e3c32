package dev.corral.agent.api;

import dev.corral.agent.ContainerException;
import dev.corral.agent.Version;
import dev.corral.agent.runtime.ContainerEvent;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.runtime.ContainerState;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecParser;
import dev.corral.agent.spec.SpecValidator;
import dev.corral.exporter.Exporter;
import dev.corral.exporter.collect.Snapshot;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * The /v1 API (docs/api.md). Every handler that touches processes or files runs on a worker thread; the
 * event loop only parses, routes and writes.
 */
public final class ApiRoutes {

    static final long MAX_BODY = 1 << 20;
    private static final Map<String, Integer> SIGNALS = Map.ofEntries(Map.entry("HUP", 1), Map.entry("INT", 2),
            Map.entry("QUIT", 3), Map.entry("KILL", 9), Map.entry("USR1", 10), Map.entry("USR2", 12),
            Map.entry("TERM", 15), Map.entry("CONT", 18), Map.entry("STOP", 19), Map.entry("WINCH", 28));

    private final Vertx vertx;
    private final ContainerRuntime runtime;
    private final Exporter exporter;
    private final Duration interval;
    private final EventLog events = new EventLog();
    private volatile Snapshot previous;
    private volatile Snapshot current = Snapshot.EMPTY;

    /** @param interval the collection interval: how often streamed stats change */
    public ApiRoutes(Vertx vertx, ContainerRuntime runtime, Exporter exporter, Duration interval) {
        this.vertx = vertx;
        this.interval = interval;
        this.runtime = runtime;
        this.exporter = exporter;
        runtime.addListener(events);
        runtime.addListener(e -> {
            if (e.type() == ContainerEvent.Type.STARTED || e.type() == ContainerEvent.Type.REMOVED) {
                exporter.collector().rescanSoon();
            }
        });
        exporter.collector().addListener((before, now) -> {
            previous = before;
            current = now;
        });
    }

    /** The container events (also read by the web page's stream). */
    public EventLog events() {
        return events;
    }

    /** The routes, to be mounted at /v1. */
    public Router router() {
        Router r = Router.router(vertx);
        new ImageRoutes(vertx, runtime.images(), this).addTo(r); // before the body handler: imports stream theirs
        new ExecRoutes(vertx, runtime).addTo(r); // before the body handler: the body is the stdin stream
        new CopyRoutes(vertx, runtime, this).addTo(r); // before the body handler: a PUT's tar goes to a file
        r.route().handler(new RawBody(MAX_BODY)); // JSON whatever the content type says (docs/api.md)
        new NetworkRoutes(runtime.networks(), this).addTo(r);
        r.post("/containers").handler(this::create);
        r.post("/containers/prune").handler(ctx -> blocking(ctx, 200, () -> ContainerPrune.run(runtime)));
        r.get("/containers").handler(this::list);
        r.get("/containers/:name").handler(ctx -> named(ctx, n -> shown(runtime.inspect(n))));
        r.post("/containers/:name/start").handler(ctx -> blocking(ctx, 200, () -> runtime.start(name(ctx)),
                ApiRoutes::queuedAccepted));
        r.post("/containers/:name/stop").handler(this::stop);
        r.post("/containers/:name/restart").handler(this::restart);
        r.post("/containers/:name/kill").handler(this::kill);
        r.post("/containers/:name/rename").handler(ctx -> blocking(ctx, 200, () -> runtime.rename(name(ctx),
                ctx.queryParams().get("name") == null ? "" : ctx.queryParams().get("name"))));
        r.post("/containers/:name/pause").handler(ctx -> named(ctx, runtime::pause));
        r.post("/containers/:name/resume").handler(ctx -> named(ctx, runtime::resume));
        r.post("/containers/:name/wait").handler(this::waitFor);
        r.delete("/containers/:name").handler(this::remove);
        new LogRoutes(vertx, runtime, this).addTo(r);
        r.get("/containers/:name/stats").handler(this::stats);
        r.get("/containers/:name/top").handler(ctx -> blocking(ctx, 200, () -> ContainerTop.run(runtime, name(ctx),
                ctx.queryParams().get("ps_args"))));
        r.patch("/containers/:name/limits").handler(this::updateLimits);
        r.get("/events").handler(this::events);
        r.get("/info").handler(this::info);
        r.get("/version").handler(ctx -> json(ctx, 200, Version.server()));
        r.get("/openapi.json").handler(ctx -> ctx.response().putHeader("content-type", "application/json")
                .sendFile("openapi.json").onFailure(t -> ApiError.fail(ctx, t)));
        r.route().last().handler(ctx -> ApiError.send(ctx, 404, "no such route: " + ctx.request().method() + " "
                + ctx.request().path(), null));
        r.errorHandler(405, ctx -> ApiError.send(ctx, 405, "method not allowed", null));
        r.errorHandler(413, ctx -> ApiError.send(ctx, 413, "the request body is over " + MAX_BODY + " bytes",
                null));
        r.errorHandler(500, ctx -> ApiError.fail(ctx, ctx.failure() == null ? new IllegalStateException()
                : ctx.failure()));
        return r;
    }

    // ---- handlers ------------------------------------------------------------------------------------

    /**
     * Create; {@code start=true} also starts; {@code wait=true} (with start) answers when it has exited, with the
     * exited container: one request for what {@code crun run} does. {@code rm=true} makes it auto-remove: the daemon
     * removes it when it exits or its start fails, as docker's --rm (docs/api.md).
     */
    private void create(RoutingContext ctx) {
        boolean start = bool(ctx, "start");
        boolean wait = bool(ctx, "wait");
        boolean rm = bool(ctx, "rm");
        if (wait && !start) {
            ApiError.send(ctx, 400, "wait=true needs start=true", "wait");
            return;
        }
        if (!wait) {
            blocking(ctx, 201, () -> {
                ContainerSpec spec = SpecParser.parse(bodyBytes(ctx));
                return start ? runtime.run(spec, rm) : runtime.create(spec, rm);
            }, ApiRoutes::queuedAccepted);
            return;
        }
        vertx.executeBlocking(() -> runtime.runToExit(SpecParser.parse(bodyBytes(ctx)), rm), false)
                .compose(Future::fromCompletionStage)
                .onSuccess(exited -> json(ctx, 200, exited))
                .onFailure(t -> ApiError.fail(ctx, t));
    }

    private void list(RoutingContext ctx) {
        boolean all = bool(ctx, "all");
        List<String> labels = ctx.queryParam("label");
        String state = ctx.queryParams().get("state");
        String prefix = ctx.queryParams().get("name");
        blocking(ctx, 200, () -> {
            ContainerState wanted = null;
            if (state != null) {
                try {
                    wanted = ContainerState.of(state);
                } catch (IllegalArgumentException e) {
                    throw new ApiError.BadRequest("state", "unknown state '" + state + "'");
                }
            }
            List<ContainerRecord> out = new ArrayList<>();
            for (ContainerRecord c : runtime.list()) {
                // as docker ps: one waiting in its restart backoff is listed without -a
                boolean shown = c.state().isLive() || c.state() == ContainerState.QUEUED
                        || runtime.isRestarting(c.name());
                if ((all || wanted != null || shown) && (wanted == null || c.state() == wanted)
                        && (prefix == null || c.name().startsWith(prefix)) && hasLabels(c, labels)) {
                    out.add(c);
                }
            }
            out.sort(java.util.Comparator.comparingLong(ContainerRecord::createdAtMillis));
            List<Object> shown = new ArrayList<>(out.size());
            for (ContainerRecord c : out) {
                shown.add(shown(c));
            }
            return shown;
        });
    }

    /**
     * The record as the API shows it: with {@code "restarting": true} while its restart policy's backoff runs (it is
     * exited meanwhile; Docker's State.Restarting). Not stored: pending restarts live in the daemon's memory.
     */
    private Object shown(ContainerRecord c) {
        if (!runtime.isRestarting(c.name())) {
            return c;
        }
        com.fasterxml.jackson.databind.node.ObjectNode n = SpecParser.JSON.valueToTree(c);
        n.put("restarting", true);
        return n;
    }

    private static boolean hasLabels(ContainerRecord c, List<String> labels) throws ApiError.BadRequest {
        Map<String, String> have = c.spec().labels() == null ? Map.of() : c.spec().labels();
        for (String l : labels) {
            int eq = l.indexOf('=');
            if (eq <= 0) {
                throw new ApiError.BadRequest("label", "'" + l + "' is not key=value");
            }
            if (!l.substring(eq + 1).equals(have.get(l.substring(0, eq)))) {
                return false;
            }
        }
        return true;
    }

    private interface NamedAction {
        Object apply(String name) throws Exception;
    }

    private void named(RoutingContext ctx, NamedAction action) {
        blocking(ctx, 200, () -> action.apply(name(ctx)));
    }

    private void stop(RoutingContext ctx) {
        blocking(ctx, 200, () -> runtime.stop(name(ctx), grace(ctx)));
    }

    /** Stop, then start (Docker's restart): 202 when the start is queued. */
    private void restart(RoutingContext ctx) {
        blocking(ctx, 200, () -> runtime.restart(name(ctx), grace(ctx)), ApiRoutes::queuedAccepted);
    }

    /** {@code timeout} seconds from SIGTERM to SIGKILL; null without one (the container's stopTimeout). */
    private static Duration grace(RoutingContext ctx) throws ApiError.BadRequest {
        int t = intParam(ctx, "timeout", -1, 0, 3600);
        return t < 0 ? null : Duration.ofSeconds(t);
    }

    private void kill(RoutingContext ctx) {
        blocking(ctx, 200, () -> runtime.kill(name(ctx), signal(ctx.queryParams().get("signal"))));
    }

    private void remove(RoutingContext ctx) {
        boolean force = bool(ctx, "force");
        blocking(ctx, 204, () -> {
            runtime.remove(name(ctx), force);
            return null;
        });
    }

    private void updateLimits(RoutingContext ctx) {
        blocking(ctx, 200, () -> runtime.updateLimits(name(ctx), SpecParser.read(bodyBytes(ctx),
                ContainerSpec.Limits.class)));
    }

    /**
     * Long poll: the answer comes when the container exits; with {@code condition=not-queued}, as soon as it is
     * not waiting for admission (started, or refused back to created); with {@code condition=next-exit}, at its
     * next exit, the head of the answer sent as soon as the wait is in place (a client attaches, then starts), and
     * an auto-remove container kept until this request's connection closes (so the client can read its logs).
     */
    private void waitFor(RoutingContext ctx) {
        String condition = ctx.queryParams().get("condition") == null ? "not-running"
                : ctx.queryParams().get("condition");
        if (condition.equals("next-exit")) {
            attach(ctx);
            return;
        }
        if (!condition.equals("not-running") && !condition.equals("not-queued")) {
            ApiError.send(ctx, 400, "must be not-running, not-queued or next-exit", "condition");
            return;
        }
        vertx.executeBlocking(() -> condition.equals("not-queued") ? runtime.admission().waitWhileQueued(name(ctx))
                        : runtime.waitFor(name(ctx)), false)
                .compose(Future::fromCompletionStage)
                .onSuccess(r -> ctx.response().putHeader("content-type", "application/json").end(waitBody(r)))
                .onFailure(t -> ApiError.fail(ctx, t));
    }

    private static String waitBody(ContainerRecord r) {
        JsonObject body = new JsonObject().put("name", r.name()).put("state", r.state().label())
                .put("exitCode", r.exitCode()).put("signal", r.signal()).put("oomKilled", r.oomKilled());
        if (r.error() != null) {
            body.put("error", r.error());
        }
        return body.encode();
    }

    /** Longest an answered next-exit wait keeps an auto-remove container for a client that keeps its connection. */
    private static final long ATTACH_LINGER_MILLIS = 60_000;

    private void attach(RoutingContext ctx) {
        vertx.executeBlocking(() -> runtime.attach(name(ctx)), false).onSuccess(a -> {
            Runnable release = () -> vertx.executeBlocking(() -> {
                a.release().run();
                return null;
            }, false);
            HttpServerResponse resp = ctx.response();
            // A connection that closes before the exit is a client gone: release. After the answer the server
            // closes it itself (the client asks for Connection: close) while the client still reads the logs: the
            // client's removal or the linger timer releases then.
            java.util.concurrent.atomic.AtomicBoolean answered = new java.util.concurrent.atomic.AtomicBoolean();
            ctx.request().connection().closeHandler(v -> {
                if (!answered.get()) {
                    release.run();
                }
            });
            if (resp.closed()) {
                release.run();
                return;
            }
            resp.setChunked(true).putHeader("content-type", "application/json");
            resp.writeHead(); // the client starts the container once it has this
            Future.fromCompletionStage(a.exit(), vertx.getOrCreateContext()).onComplete(done -> {
                answered.set(!resp.closed());
                if (done.succeeded() && !resp.closed()) {
                    resp.end(waitBody(done.result()));
                } else if (!resp.closed()) {
                    resp.end(); // removed meanwhile (DELETE): no status to give
                }
                vertx.setTimer(ATTACH_LINGER_MILLIS, id -> release.run());
            });
        }).onFailure(t -> ApiError.fail(ctx, t));
    }

    private void stats(RoutingContext ctx) {
        boolean stream = bool(ctx, "stream");
        vertx.executeBlocking(() -> runtime.inspect(name(ctx)), false).onSuccess(record -> {
            JsonObject once = ContainerStats.of(record.name(), record.cgroup(), previous, current);
            if (!stream) {
                if (once == null) {
                    ApiError.send(ctx, 409, "no statistics for '" + record.name() + "' yet: it is "
                            + record.state().label(), null);
                } else {
                    ctx.response().putHeader("content-type", "application/json").end(once.encode());
                }
                return;
            }
            HttpServerResponse resp = ctx.response().setChunked(true)
                    .putHeader("content-type", "application/x-ndjson");
            long timer = vertx.setPeriodic(0, interval.toMillis(), id -> {
                JsonObject s = ContainerStats.of(record.name(), record.cgroup(), previous, current);
                if (s != null) {
                    resp.write(s.encode() + "\n");
                }
            });
            resp.closeHandler(v -> vertx.cancelTimer(timer));
        }).onFailure(t -> ApiError.fail(ctx, t));
    }

    private void events(RoutingContext ctx) {
        long since;
        try {
            since = ctx.queryParams().get("since") == null ? Long.MAX_VALUE : Long.parseLong(ctx.queryParams().get("since"));
        } catch (NumberFormatException e) {
            ApiError.send(ctx, 400, "must be milliseconds since the epoch", "since");
            return;
        }
        HttpServerResponse resp = ctx.response().setChunked(true).putHeader("content-type", "text/event-stream")
                .putHeader("cache-control", "no-cache");
        Consumer<ContainerEvent> subscriber = e -> vertx.runOnContext(v -> {
            if (!resp.closed()) {
                resp.write(sse(e));
            }
        });
        List<ContainerEvent> replay = events.subscribe(subscriber, since);
        resp.write(": corral events\n\n");
        replay.forEach(e -> resp.write(sse(e)));
        long keepAlive = vertx.setPeriodic(15_000, id -> resp.write(": keep-alive\n\n"));
        resp.closeHandler(v -> {
            events.unsubscribe(subscriber);
            vertx.cancelTimer(keepAlive);
        });
    }

    public static String sse(ContainerEvent e) {
        JsonObject data = new JsonObject().put("type", e.type().wire()).put("name", e.name()).put("timeMillis", e.timeMillis())
                .put("attributes", new JsonObject(new java.util.HashMap<>(e.attributes())));
        return "event: " + e.type().wire() + "\ndata: " + data.encode() + "\n\n";
    }

    private void info(RoutingContext ctx) {
        blocking(ctx, 200, () -> HostInfo.of(runtime, exporter, Version.current()));
    }

    // ---- helpers -------------------------------------------------------------------------------------

    interface Work {
        Object call() throws Exception;
    }

    /** Runs the work on a worker thread and answers with its result as JSON (or the mapped error). */
    void blocking(RoutingContext ctx, int status, Work work) {
        blocking(ctx, status, work, (result, dflt) -> dflt);
    }

    /** A start that admission control queued is accepted, not done: 202 with the QUEUED container. */
    private static int queuedAccepted(Object result, int dflt) {
        return result instanceof ContainerRecord c && c.state() == ContainerState.QUEUED ? 202 : dflt;
    }

    /** The answer's status from the work's result (and the route's usual status). */
    interface StatusOf {
        int of(Object result, int dflt);
    }

    void blocking(RoutingContext ctx, int status, Work work, StatusOf statusOf) {
        Callable<Object> c = work::call;
        vertx.executeBlocking(c, false).onSuccess(result -> json(ctx, statusOf.of(result, status), result))
                .onFailure(t -> ApiError.fail(ctx, t));
    }

    /** Answers with the result as JSON; no body for null. */
    private static void json(RoutingContext ctx, int status, Object result) {
        HttpServerResponse r = ctx.response().setStatusCode(status);
        if (result == null) {
            r.end();
            return;
        }
        try {
            r.putHeader("content-type", "application/json").end(Buffer.buffer(SpecParser.JSON.writeValueAsBytes(result)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            ApiError.fail(ctx, e);
        }
    }

    private static byte[] bodyBytes(RoutingContext ctx) {
        return RawBody.of(ctx);
    }

    /**
     * The container a path names: by name, or, as docker, by a unique prefix of its id (hex, at least 4 digits);
     * on a worker thread (it may list the containers).
     */
    /** The container a path names: its name, or a unique prefix of its id. */
    String name(RoutingContext ctx) throws SpecException, ContainerException {
        String n = SpecValidator.checkName(ctx.pathParam("name"), "name");
        if (n.length() < 4 || n.length() > 64 || !n.matches("[0-9a-f]+")) {
            return n;
        }
        try {
            runtime.inspect(n);
            return n;
        } catch (ContainerException e) {
            if (e.kind() != ContainerException.Kind.NOT_FOUND) {
                throw e;
            }
        }
        List<String> matches = new ArrayList<>();
        for (ContainerRecord r : runtime.list()) {
            if (r.id().startsWith(n)) {
                matches.add(r.name());
            }
        }
        if (matches.size() > 1) {
            throw new SpecException("name", "'" + n + "' is the start of the ids of " + matches.size()
                    + " containers: give more of it");
        }
        return matches.isEmpty() ? n : matches.get(0);
    }

    static boolean bool(RoutingContext ctx, String param) {
        String v = ctx.queryParams().get(param);
        return v != null && (v.isEmpty() || v.equals("true") || v.equals("1"));
    }

    static int intParam(RoutingContext ctx, String param, int dflt, int min, int max)
            throws ApiError.BadRequest {
        String v = ctx.queryParams().get(param);
        if (v == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new ApiError.BadRequest(param, "must be a whole number from " + min + " to " + max);
        }
    }

    static int signal(String s) throws ApiError.BadRequest {
        if (s == null || s.isEmpty()) {
            return 15;
        }
        String n = s.toUpperCase(java.util.Locale.ROOT);
        if (n.startsWith("SIG")) {
            n = n.substring(3);
        }
        Integer byName = SIGNALS.get(n);
        if (byName != null) {
            return byName;
        }
        try {
            int v = Integer.parseInt(n);
            if (v >= 1 && v <= 64) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new ApiError.BadRequest("signal", "unknown signal '" + s + "'");
    }
}

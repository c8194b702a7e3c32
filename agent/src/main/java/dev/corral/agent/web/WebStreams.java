package dev.corral.agent.web;

import dev.corral.agent.api.ApiRoutes;
import dev.corral.agent.api.EventLog;
import dev.corral.agent.runtime.ContainerEvent;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The page's live stream, GET /web/stream (server-sent events): a {@code sample} event each collection cycle (the
 * same encoded buffer for every open page) and the container events of /v1/events as {@code event} (the recent ones
 * replayed first: policy actions on the timeline). A sample has only the rows that changed, but a page's first and
 * any after one it missed have them all. A page that cannot keep up misses samples instead of queueing
 * them in the agent.
 */
final class WebStreams implements AutoCloseable {

    /** @param fresh true until it got its first (full) frame */
    private record Client(Context context, HttpServerResponse response, java.util.concurrent.atomic.AtomicBoolean fresh) {
    }

    private final Vertx vertx;
    private final EventLog events;
    private final Set<Client> clients = ConcurrentHashMap.newKeySet();

    WebStreams(Vertx vertx, EventLog events) {
        this.vertx = vertx;
        this.events = events;
    }

    int open() {
        return clients.size();
    }

    /** Whether a page opened since the last frame: it needs every row once, not only those that changed. */
    boolean fresh() {
        return clients.stream().anyMatch(c -> c.fresh().get());
    }

    /**
     * @param delta the rows that changed since the last frame
     * @param full  every row, for pages that have had no frame yet; null when there is none
     */
    void sample(Buffer delta, Buffer full) {
        for (Client c : clients) {
            Buffer frame = full != null && c.fresh().getAndSet(false) ? full : delta;
            if (frame == delta && c.fresh().get()) {
                continue; // opened after this frame was made: the next one is its full frame
            }
            c.context().runOnContext(v -> {
                if (!c.response().closed() && !c.response().writeQueueFull()) {
                    c.response().write(frame);
                } else {
                    c.fresh().set(true); // a frame missed: its rows are sent whole again next time
                }
            });
        }
    }

    /** @param sinceMillis container events after this time are replayed first */
    void open(RoutingContext ctx, long sinceMillis) {
        HttpServerResponse resp = ctx.response().setChunked(true).putHeader("content-type", "text/event-stream")
                .putHeader("cache-control", "no-cache");
        Client client = new Client(vertx.getOrCreateContext(), resp, new java.util.concurrent.atomic.AtomicBoolean(true));
        resp.write(": corral web\n\n");
        Consumer<ContainerEvent> subscriber = null;
        if (events != null) {
            subscriber = e -> client.context().runOnContext(v -> {
                if (!resp.closed()) {
                    resp.write(asEvent(e));
                }
            });
            List<ContainerEvent> replay = events.subscribe(subscriber, sinceMillis);
            replay.forEach(e -> resp.write(asEvent(e)));
        }
        clients.add(client);
        long keepAlive = vertx.setPeriodic(15_000, id -> resp.write(": keep-alive\n\n"));
        Consumer<ContainerEvent> s = subscriber;
        resp.closeHandler(v -> {
            clients.remove(client);
            if (s != null) {
                events.unsubscribe(s);
            }
            vertx.cancelTimer(keepAlive);
        });
    }

    /** The /v1/events format, under one event name: the page reads the type from the data. */
    private static String asEvent(ContainerEvent e) {
        String sse = ApiRoutes.sse(e);
        return "event: event" + sse.substring(sse.indexOf('\n'));
    }

    @Override
    public void close() {
        for (Client c : clients) {
            c.context().runOnContext(v -> c.response().reset());
        }
        clients.clear();
    }
}

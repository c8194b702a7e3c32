package dev.corral.agent.api;

import static dev.corral.exporter.testing.Await.awaitValue;
import java.time.Duration;
import dev.corral.agent.client.HttpTransport;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/** Reads a live /v1/events stream into a list, on its own thread, until closed. */
final class EventRecorder implements AutoCloseable {

    final List<JsonObject> events = new CopyOnWriteArrayList<>();
    private final HttpTransport.Exchange stream;
    private final Thread reader;
    private final StringBuilder pending = new StringBuilder();

    EventRecorder(AgentFixture fx) throws Exception {
        stream = fx.unixTransport().open("GET", "/v1/events", null, null, null);
        if (stream.status() != 200) {
            throw new AssertionError("events stream answered " + stream.status());
        }
        reader = new Thread(() -> {
            try {
                stream.pump(this::handle, () -> false);
            } catch (java.io.IOException | RuntimeException e) {
                // closed
            }
        }, "policy-events-reader");
        reader.setDaemon(true);
        reader.start();
    }

    private void handle(byte[] buf) {
        pending.append(new String(buf, StandardCharsets.UTF_8));
        int end;
        while ((end = pending.indexOf("\n\n")) >= 0) {
            String event = pending.substring(0, end);
            pending.delete(0, end + 2);
            for (String line : event.split("\n")) {
                if (line.startsWith("data: ")) {
                    events.add(new JsonObject(line.substring(6)));
                }
            }
        }
    }

    List<JsonObject> matching(Predicate<JsonObject> p) {
        return events.stream().filter(p).toList();
    }

    /** Policy audit records: type "policy", attributes.policy and .action as given (null: any). */
    List<JsonObject> policy(String policy, String action) {
        return matching(e -> e.getString("type").equals("policy")
                && (policy == null || policy.equals(e.getJsonObject("attributes").getString("policy")))
                && (action == null || action.equals(e.getJsonObject("attributes").getString("action"))));
    }

    JsonObject await(Predicate<JsonObject> p, long millis) throws Exception {
        return awaitValue(() -> matching(p), m -> !m.isEmpty(), Duration.ofMillis(millis),
                "a matching event; seen: " + events).get(0);
    }

    @Override
    public void close() throws Exception {
        stream.close();
        reader.join(5000);
        if (reader.isAlive()) {
            throw new AssertionError("closing the event stream did not end its reader");
        }
    }
}

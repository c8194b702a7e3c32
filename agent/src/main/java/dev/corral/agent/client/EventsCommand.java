package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code corral events}: one line per container event ({@code TIME TYPE NAME attrs}) until interrupted. */
@Command(name = "events", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Print container events as they happen (TIME TYPE NAME attributes), until interrupted.")
public final class EventsCommand extends ClientCommand {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX");

    @Option(names = "--since", paramLabel = "DURATION|MILLIS",
            description = "First replay recent events: from this long ago (e.g. 10m) or since epoch milliseconds.")
    String since;

    @Option(names = "--format", paramLabel = "text|json", defaultValue = "text",
            description = "text (default) or json: each event's data as one JSON line.")
    String format;

    @Override
    protected int run(CorralClient client) throws Exception {
        if (!format.equals("text") && !format.equals("json")) {
            throw usage("--format: '" + format + "' is not text or json");
        }
        String query = since == null ? "" : "?since=" + sinceMillis(since, System.currentTimeMillis());
        PrintWriter out = out();
        boolean json = format.equals("json");
        client.stream("/v1/events" + query, new SseParser((type, data) -> {
            out.println(json ? data : line(type, data, ZoneId.systemDefault()));
            out.flush();
        }), () -> Utf8Sink.closed(out, System.out)); // "corral events | grep -m1 oom" ends when grep does
        return 0;
    }

    long sinceMillis(String value, long now) {
        if (value.matches("[0-9]{11,}")) {
            return Long.parseLong(value);
        }
        try {
            return now - DurationConverter.parse(value).toMillis();
        } catch (TypeConversionException e) {
            throw usage("--since: " + e.getMessage() + " or epoch milliseconds");
        }
    }

    /** {@code TIME TYPE NAME key=value...}; what cannot be parsed is printed as it came. */
    static String line(String eventType, String data, ZoneId zone) {
        JsonNode n;
        try {
            n = ClientJson.read(data.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            return (eventType == null ? "" : eventType + " ") + data;
        }
        if (n == null || !n.isObject()) {
            return (eventType == null ? "" : eventType + " ") + data;
        }
        StringBuilder b = new StringBuilder();
        b.append(n.path("timeMillis").isNumber()
                ? TIME.format(Instant.ofEpochMilli(n.path("timeMillis").asLong()).atZone(zone)) : "-");
        b.append(' ').append(n.path("type").isTextual() ? n.path("type").asText()
                : eventType == null ? "event" : eventType);
        b.append(' ').append(n.path("name").asText("-"));
        Map<String, String> attrs = new TreeMap<>();
        n.path("attributes").fields().forEachRemaining(e -> attrs.put(e.getKey(),
                e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString()));
        attrs.forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
        return b.toString();
    }

    /** A text/event-stream parser: calls back with (event type, data) at each blank line. */
    static final class SseParser implements Consumer<byte[]> {
        private final BiConsumer<String, String> onEvent;
        private final Utf8Sink decoder = new Utf8Sink(null);
        private final StringBuilder partial = new StringBuilder();
        private String type;
        private StringBuilder data;

        SseParser(BiConsumer<String, String> onEvent) {
            this.onEvent = onEvent;
        }

        @Override
        public void accept(byte[] bytes) {
            text(decoder.decode(bytes, false));
        }

        void text(String text) {
            partial.append(text);
            int nl;
            while ((nl = partial.indexOf("\n")) >= 0) {
                String line = partial.substring(0, nl);
                partial.delete(0, nl + 1);
                if (line.endsWith("\r")) {
                    line = line.substring(0, line.length() - 1);
                }
                line(line);
            }
        }

        private void line(String line) {
            if (line.isEmpty()) {
                if (data != null) {
                    onEvent.accept(type, data.toString());
                }
                type = null;
                data = null;
                return;
            }
            if (line.startsWith(":")) {
                return; // a comment, e.g. a keep-alive
            }
            int colon = line.indexOf(':');
            String field = colon < 0 ? line : line.substring(0, colon);
            String value = colon < 0 ? "" : line.substring(colon + 1);
            if (value.startsWith(" ")) {
                value = value.substring(1);
            }
            switch (field) {
                case "event" -> type = value;
                case "data" -> {
                    if (data == null) {
                        data = new StringBuilder(value);
                    } else {
                        data.append('\n').append(value);
                    }
                }
                default -> {
                    // id, retry: not needed by a CLI
                }
            }
        }
    }
}

package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code inspect -f}: the subset of Go's text/template that docker users write. Text with {@code {{ }}} actions; an
 * action is a pipeline {@code CMD | CMD ...}, where the value of one command is the last argument of the next. A
 * command is an operand ({@code .}, a field path {@code .State.Status}, a "string", a number, true/false) or a
 * function with operands: {@code json}, {@code index MAP-OR-LIST KEY...}, {@code join LIST SEP}, {@code upper},
 * {@code lower}, {@code len}. No variables, conditionals or ranges. Values print as Go prints them: maps as
 * {@code map[k:v]} (sorted keys), lists as {@code [a b]}, a missing field as {@code <no value>}.
 *
 * <p>Fields are looked up in a docker-shaped view of the container ({@link #dockerView}: Id, Name, Created, State,
 * Config, HostConfig, Image...) that also carries the API's own fields (name, state, spec, ...); a name matches
 * exactly first, then ignoring case.
 */
final class InspectTemplate {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final String FUNCTIONS = "json, index, join, upper, lower, len";

    /** Literal text (String) and actions (List of commands, each a List of tokens). */
    private final List<Object> parts;

    private InspectTemplate(List<Object> parts) {
        this.parts = parts;
    }

    /** @throws IllegalArgumentException saying what is wrong with the template */
    static InspectTemplate parse(String text) {
        List<Object> parts = new ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            int open = text.indexOf("{{", i);
            if (open < 0) {
                parts.add(text.substring(i));
                break;
            }
            if (open > i) {
                parts.add(text.substring(i, open));
            }
            int close = closing(text, open + 2);
            if (close < 0) {
                throw new IllegalArgumentException("unclosed action: '" + text.substring(open) + "'");
            }
            parts.add(pipeline(text.substring(open + 2, close).strip()));
            i = close + 2;
        }
        return new InspectTemplate(parts);
    }

    /** The end of an action, skipping "}}" inside strings. */
    private static int closing(String text, int from) {
        boolean quoted = false;
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quoted && c == '\\') {
                i++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && text.startsWith("}}", i)) {
                return i;
            }
        }
        return -1;
    }

    private static List<List<String>> pipeline(String action) {
        if (action.isEmpty()) {
            throw new IllegalArgumentException("missing value for command: {{}}");
        }
        List<List<String>> commands = new ArrayList<>();
        List<String> current = new ArrayList<>();
        int i = 0;
        while (i < action.length()) {
            char c = action.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (c == '|') {
                if (current.isEmpty()) {
                    throw new IllegalArgumentException("missing command before '|' in {{" + action + "}}");
                }
                commands.add(current);
                current = new ArrayList<>();
                i++;
            } else if (c == '"') {
                int j = i + 1;
                StringBuilder s = new StringBuilder("\"");
                for (; j < action.length() && action.charAt(j) != '"'; j++) {
                    char d = action.charAt(j);
                    if (d == '\\' && j + 1 < action.length()) {
                        char e = action.charAt(++j);
                        s.append(switch (e) {
                            case 'n' -> '\n';
                            case 't' -> '\t';
                            default -> e;
                        });
                    } else {
                        s.append(d);
                    }
                }
                if (j >= action.length()) {
                    throw new IllegalArgumentException("unterminated string in {{" + action + "}}");
                }
                current.add(s.toString());
                i = j + 1;
            } else {
                int j = i;
                while (j < action.length() && !Character.isWhitespace(action.charAt(j)) && action.charAt(j) != '|') {
                    j++;
                }
                String word = action.substring(i, j);
                if (!word.startsWith(".") && !word.matches("-?[0-9]+|true|false|json|index|join|upper|lower|len")) {
                    throw new IllegalArgumentException("function \"" + word + "\" not defined (this subset has "
                            + FUNCTIONS + ")");
                }
                if (word.startsWith(".") && !word.equals(".") && !word.matches("(\\.[A-Za-z_][A-Za-z0-9_]*)+")) {
                    throw new IllegalArgumentException("bad field path '" + word + "'");
                }
                current.add(word);
                i = j;
            }
        }
        if (current.isEmpty()) {
            throw new IllegalArgumentException("missing command after '|' in {{" + action + "}}");
        }
        commands.add(current);
        return commands;
    }

    /** @throws IllegalArgumentException when a function cannot apply to what it was given */
    String apply(JsonNode root) {
        StringBuilder out = new StringBuilder();
        for (Object part : parts) {
            if (part instanceof String s) {
                out.append(s);
            } else {
                @SuppressWarnings("unchecked")
                List<List<String>> commands = (List<List<String>>) part;
                JsonNode value = null;
                boolean piped = false;
                for (List<String> command : commands) {
                    value = command(root, command, piped ? value : null, piped);
                    piped = true;
                }
                out.append(text(value));
            }
        }
        return out.toString();
    }

    private static JsonNode command(JsonNode root, List<String> words, JsonNode piped, boolean hasPiped) {
        String head = words.get(0);
        List<JsonNode> args = new ArrayList<>();
        boolean function = head.matches("json|index|join|upper|lower|len");
        for (String w : function ? words.subList(1, words.size()) : words) {
            args.add(operand(root, w));
        }
        if (hasPiped) {
            args.add(piped);
        }
        if (!function) {
            if (args.size() != 1) {
                throw new IllegalArgumentException("can't give argument to non-function " + head);
            }
            return args.get(0);
        }
        switch (head) {
            case "json" -> {
                one(head, args);
                try {
                    return NODES.textNode(ClientJson.write(args.get(0) == null ? NODES.nullNode() : args.get(0)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            case "upper", "lower" -> {
                one(head, args);
                String s = text(args.get(0));
                return NODES.textNode(head.equals("upper") ? s.toUpperCase(Locale.ROOT) : s.toLowerCase(Locale.ROOT));
            }
            case "len" -> {
                one(head, args);
                JsonNode v = args.get(0);
                if (v == null || !(v.isContainerNode() || v.isTextual())) {
                    throw new IllegalArgumentException("len of " + kind(v));
                }
                return NODES.numberNode(v.isTextual() ? v.asText().length() : v.size());
            }
            case "join" -> {
                if (args.size() != 2 || args.get(0) == null || !args.get(0).isArray()) {
                    throw new IllegalArgumentException("join needs a list and a separator");
                }
                List<String> items = new ArrayList<>();
                args.get(0).forEach(v -> items.add(text(v)));
                return NODES.textNode(String.join(text(args.get(1)), items));
            }
            default -> { // index
                if (args.size() < 2) {
                    throw new IllegalArgumentException("index needs a map or list and a key");
                }
                JsonNode v = args.get(0);
                for (JsonNode key : args.subList(1, args.size())) {
                    if (v != null && v.isObject()) {
                        v = v.get(text(key));
                    } else if (v != null && v.isArray() && key != null && key.canConvertToInt()) {
                        if (key.asInt() < 0 || key.asInt() >= v.size()) {
                            throw new IllegalArgumentException("index out of range: " + key.asInt());
                        }
                        v = v.get(key.asInt());
                    } else {
                        throw new IllegalArgumentException("can't index " + kind(v) + " with " + text(key));
                    }
                }
                return v;
            }
        }
    }

    private static void one(String function, List<JsonNode> args) {
        if (args.size() != 1) {
            throw new IllegalArgumentException(function + " takes one argument, got " + args.size());
        }
    }

    private static JsonNode operand(JsonNode root, String w) {
        if (w.startsWith("\"")) {
            return NODES.textNode(w.substring(1));
        }
        if (w.equals("true") || w.equals("false")) {
            return NODES.booleanNode(w.equals("true"));
        }
        if (w.matches("-?[0-9]+")) {
            return NODES.numberNode(Long.parseLong(w));
        }
        JsonNode v = root;
        if (w.equals(".")) {
            return v;
        }
        for (String field : w.substring(1).split("\\.")) {
            v = field(v, field);
        }
        return v;
    }

    /** Exact name first, then ignoring case; null (printed "<no value>") when missing. */
    private static JsonNode field(JsonNode v, String name) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw new IllegalArgumentException("can't evaluate field " + name + " in " + kind(v));
        }
        if (v.has(name)) {
            return v.get(name);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equalsIgnoreCase(name)) {
                return e.getValue();
            }
        }
        return null;
    }

    private static String kind(JsonNode v) {
        return v == null || v.isNull() ? "<no value>" : v.isObject() ? "a map" : v.isArray() ? "a list"
                : v.isTextual() ? "a string" : v.isNumber() ? "a number" : "a bool";
    }

    /** As Go's fmt prints a decoded JSON value. */
    static String text(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            return "<no value>";
        }
        if (v.isTextual()) {
            return v.asText();
        }
        if (v.isIntegralNumber()) {
            return v.bigIntegerValue().toString();
        }
        if (v.isNumber()) {
            return java.math.BigDecimal.valueOf(v.asDouble()).stripTrailingZeros().toPlainString();
        }
        if (v.isBoolean()) {
            return Boolean.toString(v.asBoolean());
        }
        if (v.isArray()) {
            List<String> items = new ArrayList<>();
            v.forEach(e -> items.add(text(e)));
            return "[" + String.join(" ", items) + "]";
        }
        TreeMap<String, String> sorted = new TreeMap<>();
        v.fields().forEachRemaining(e -> sorted.put(e.getKey(), text(e.getValue())));
        List<String> items = new ArrayList<>();
        sorted.forEach((k, val) -> items.add(k + ":" + val));
        return "map[" + String.join(" ", items) + "]";
    }

    /**
     * The container as docker's inspect names things (Id, Name with its "/", Created, Path, Args, State, Image,
     * Config, HostConfig, RestartCount), on top of the API's own fields.
     */
    static ObjectNode dockerView(JsonNode c) {
        ObjectNode v = c.deepCopy();
        JsonNode spec = c.path("spec");
        String state = c.path("state").asText("");
        v.put("Id", c.path("id").asText(""));
        v.put("Name", "/" + c.path("name").asText(""));
        v.put("Created", time(c.path("createdAtMillis")));
        ArrayNode command = spec.path("command").isArray() ? (ArrayNode) spec.path("command") : NODES.arrayNode();
        v.put("Path", command.isEmpty() ? "" : command.get(0).asText());
        ArrayNode args = v.putArray("Args");
        for (int i = 1; i < command.size(); i++) {
            args.add(command.get(i).asText());
        }
        ObjectNode st = v.putObject("State");
        // waiting in its restart backoff: as docker's, status "restarting" and Running too
        boolean restarting = c.path("restarting").asBoolean(false);
        st.put("Status", restarting ? "restarting" : state);
        st.put("Running", restarting || state.equals("running") || state.equals("paused"));
        st.put("Paused", state.equals("paused"));
        st.put("Restarting", restarting);
        st.put("OOMKilled", c.path("oomKilled").asBoolean(false));
        st.put("Dead", false);
        st.put("Pid", state.equals("running") || state.equals("paused") ? c.path("initPid").asLong(0) : 0);
        st.put("ExitCode", c.path("exitCode").asInt(0));
        st.put("Error", c.path("error").asText(""));
        st.put("StartedAt", time(c.path("startedAtMillis")));
        st.put("FinishedAt", time(c.path("finishedAtMillis")));
        v.put("Image", spec.path("image").asText(""));
        v.put("RestartCount", c.path("restartCount").asInt(0));
        ObjectNode config = v.putObject("Config");
        config.put("Hostname", spec.path("hostname").asText(c.path("name").asText("")));
        ArrayNode env = config.putArray("Env");
        spec.path("env").fields().forEachRemaining(e -> env.add(e.getKey() + "=" + e.getValue().asText()));
        config.set("Cmd", command.deepCopy());
        config.put("Image", spec.path("image").asText(""));
        config.put("WorkingDir", spec.path("workingDir").asText(""));
        config.set("Labels", spec.path("labels").isObject() ? spec.path("labels").deepCopy() : NODES.objectNode());
        JsonNode user = spec.path("user");
        config.put("User", user.has("uid") ? user.path("uid").asText() + (user.has("gid") ? ":" + user.path("gid")
                .asText() : "") : "");
        ObjectNode host = v.putObject("HostConfig");
        JsonNode limits = spec.path("limits");
        host.put("Memory", limits.path("memory").path("max").asLong(0));
        host.put("NanoCpus", Math.round(limits.path("cpu").path("cpus").asDouble(0) * 1e9));
        host.put("CpuShares", limits.path("cpu").path("shares").asLong(0));
        host.put("PidsLimit", limits.path("pids").path("max").asLong(0));
        host.put("AutoRemove", c.path("autoRemove").asBoolean(false));
        host.put("NetworkMode", spec.path("namespaces").path("network").asText("default"));
        return v;
    }

    /** RFC 3339 in UTC as docker prints times; Go's zero time when not set. */
    private static String time(JsonNode millis) {
        return millis.isIntegralNumber() ? Instant.ofEpochMilli(millis.asLong()).toString() : "0001-01-01T00:00:00Z";
    }
}

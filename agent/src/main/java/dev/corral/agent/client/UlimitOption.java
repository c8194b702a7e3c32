package dev.corral.agent.client;

import dev.corral.agent.spec.ContainerSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** {@code --ulimit NAME=SOFT[:HARD]} (Docker's; -1 for unlimited) and {@code -u USER[:GROUP]}, names or numbers. */
final class UlimitOption {

    private UlimitOption() {
    }

    /** The spec's ulimits, null for none; the daemon checks the names. */
    static List<ContainerSpec.Ulimit> parse(List<String> values, Function<String, RuntimeException> usage) {
        if (values == null || values.isEmpty()) {
            return null;
        }
        List<ContainerSpec.Ulimit> out = new ArrayList<>();
        for (String v : values) {
            int eq = v.indexOf('=');
            String[] limits = eq < 0 ? new String[0] : v.substring(eq + 1).split(":", -1);
            if (eq <= 0 || limits.length < 1 || limits.length > 2 || !limits[0].matches("-1|[0-9]{1,19}")
                    || (limits.length == 2 && !limits[1].matches("-1|[0-9]{1,19}"))) {
                throw usage.apply("--ulimit: '" + v + "' is not NAME=SOFT[:HARD] (numbers, -1 for unlimited)");
            }
            try {
                out.add(new ContainerSpec.Ulimit(v.substring(0, eq), Long.parseLong(limits[0]),
                        limits.length == 2 ? Long.parseLong(limits[1]) : null));
            } catch (NumberFormatException e) {
                throw usage.apply("--ulimit: '" + v + "': a number out of range");
            }
        }
        return out;
    }

    /** UID:GID as numbers; anything else (a name, or a uid alone) is resolved in the container's own files. */
    static ContainerSpec.User user(String user, Function<String, RuntimeException> usage) {
        if (user == null) {
            return null;
        }
        String[] parts = user.split(":", -1);
        if (parts.length > 2 || parts[0].isEmpty() || (parts.length == 2 && parts[1].isEmpty())
                || user.chars().anyMatch(Character::isWhitespace)) {
            throw usage.apply("--user: '" + user + "' is not USER[:GROUP] (names or numbers)");
        }
        if (parts.length == 2 && parts[0].matches("[0-9]{1,10}") && parts[1].matches("[0-9]{1,10}")) {
            return new ContainerSpec.User(Long.parseLong(parts[0]), Long.parseLong(parts[1]), null);
        }
        // A uid alone is looked up too (its group and groups from the container's files), as Docker does
        return new ContainerSpec.User(null, null, null, user);
    }
}

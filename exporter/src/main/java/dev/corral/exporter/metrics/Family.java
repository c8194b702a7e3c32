package dev.corral.exporter.metrics;

import java.nio.charset.StandardCharsets;

/**
 * One metric family's metadata as the Prometheus text format (0.0.4) writes it: counters get {@code _total},
 * the HELP and TYPE lines are rendered once.
 */
final class Family {

    enum Type { COUNTER, GAUGE, UNTYPED }

    /** The name without {@code _total}: what client_java sorts families by. */
    final String name;
    final byte[] sampleName;
    final byte[] header;

    Family(Type type, String name, String help) {
        this.name = name;
        String exposed = type == Type.COUNTER ? name + "_total" : name;
        this.sampleName = exposed.getBytes(StandardCharsets.UTF_8);
        String escapedHelp = help.replace("\\", "\\\\").replace("\n", "\\n");
        this.header = ("# HELP " + exposed + " " + escapedHelp + "\n# TYPE " + exposed + " "
                + type.name().toLowerCase(java.util.Locale.ROOT) + "\n").getBytes(StandardCharsets.UTF_8);
    }
}

package dev.corral.exporter.metrics;

import dev.corral.exporter.collect.Snapshot;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * The /metrics body: the container families written by {@link ContainerMetrics}, then the agent's own metrics
 * from Micrometer, then the machine families, which is client_java's order by family name (container_ &lt;
 * corral_ &lt; machine_). The container part is rendered once per collection cycle: a scrape that arrives while
 * the same snapshot is current gets the bytes already rendered for it. The agent's own metrics are read at every
 * scrape.
 */
public final class MetricsPage {

    private final Supplier<Snapshot> snapshots;
    private final ContainerMetrics containers;
    private final PrometheusMeterRegistry registry;
    private final byte[] machine;
    private Snapshot renderedFor; // guarded by this
    private Body.Part rendered;

    public MetricsPage(Supplier<Snapshot> snapshots, ContainerMetrics containers, PrometheusMeterRegistry registry) {
        this.snapshots = snapshots;
        this.containers = containers;
        this.registry = registry;
        TextOut out = new TextOut(512);
        containers.writeMachine(out);
        this.machine = java.util.Arrays.copyOf(out.bytes(), out.size());
    }

    /**
     * The body in three parts, so the HTTP layer can send them without copying them into one. The parts are
     * never written to after they are returned.
     */
    public record Body(Part containers, Part self, Part machine) {

        /** {@code bytes[0, length)}. */
        public record Part(byte[] bytes, int length) {
        }

        public int length() {
            return containers.length + self.length + machine.length;
        }

        public void writeTo(OutputStream out) throws IOException {
            out.write(containers.bytes, 0, containers.length);
            out.write(self.bytes, 0, self.length);
            out.write(machine.bytes, 0, machine.length);
        }

        public String text() {
            ByteArrayOutputStream out = new ByteArrayOutputStream(length());
            try {
                writeTo(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    public Body render() {
        byte[] self = registry.scrape().getBytes(StandardCharsets.UTF_8);
        return new Body(containers(snapshots.get()), new Body.Part(self, self.length),
                new Body.Part(machine, machine.length));
    }

    private synchronized Body.Part containers(Snapshot snapshot) {
        if (snapshot != renderedFor) {
            int last = rendered == null ? 0 : rendered.length();
            TextOut out = new TextOut(last + (last >> 4) + 4096);
            containers.writeContainers(snapshot, out);
            rendered = new Body.Part(out.bytes(), out.size());
            renderedFor = snapshot;
        }
        return rendered;
    }
}

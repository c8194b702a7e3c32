package dev.corral.agent.server;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;

/**
 * The agent's own JVM on its /metrics (jvm_memory_*, jvm_gc_*, jvm_threads_*, jvm_classes_*, process_cpu_*,
 * process_uptime_*, system_cpu_*): an operator sees the agent's heap, GC pauses and threads next to what it
 * measures. Micrometer's own binders: they read MXBeans lazily at scrape time, so they cost nothing between
 * scrapes; only JvmGcMetrics holds GC notification listeners, released by {@link #close()}.
 */
final class SelfMetrics implements AutoCloseable {

    private final JvmGcMetrics gc = new JvmGcMetrics();

    SelfMetrics(MeterRegistry registry) {
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    @Override
    public void close() {
        gc.close();
    }
}

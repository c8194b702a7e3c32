package dev.corral.exporter.collect;

/** Told about every published snapshot, on the collector's thread; must not block. */
@FunctionalInterface
public interface CollectorListener {

    void collected(Snapshot previous, Snapshot current);
}

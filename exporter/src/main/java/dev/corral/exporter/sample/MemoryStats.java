package dev.corral.exporter.sample;

/**
 * Memory accounting in bytes (counts for failcnt and events). Fields are {@link Absent#VALUE} when not
 * provided.
 *
 * @param workingSet usage minus inactive file pages, floored at 0 (what the kernel cannot easily reclaim)
 * @param failcnt    v1 memory.failcnt; v2 memory.events "max" (as runc reports it)
 * @param highEvents v2 memory.events "high"
 * @param maxEvents  v2 memory.events "max"
 */
public record MemoryStats(long usage, long workingSet, long rss, long cache, long mappedFile, long swap,
                          long maxUsage, long failcnt, long oomKills, long highEvents, long maxEvents) {
}

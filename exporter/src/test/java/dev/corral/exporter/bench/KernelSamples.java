package dev.corral.exporter.bench;

import java.nio.charset.StandardCharsets;

/**
 * Kernel file contents the parser benchmarks run on. The v1 files and PSI were copied from this project's
 * benchmark host (hybrid layout, kernel 6.18, see docs/benchmarks.md); v2 memory.stat and cpu.stat from Debian
 * 12's 6.1 kernel booted by tools/v2vm, in a cgroup with cpu, memory, io and pids enabled that had run a busy
 * loop and read files. That guest did no block IO, so io.stat is in the format of the kernel's cgroup-v2.rst.
 */
final class KernelSamples {

    private KernelSamples() {
    }

    /** v1 memory.stat of the host's root memory cgroup: 42 lines, the 4 keys the reader wants near the end. */
    static final String V1_MEMORY_STAT = """
            cache 46903296
            rss 6987776
            rss_huge 0
            shmem 9068544
            mapped_file 6959104
            dirty 16384
            writeback 0
            workingset_refault_anon 0
            workingset_refault_file 0
            swap 0
            swapcached 0
            pgpgin 33665
            pgpgout 20546
            pgfault 38746
            pgmajfault 0
            inactive_anon 0
            active_anon 1531904
            inactive_file 15130624
            active_file 22704128
            unevictable 14524416
            hierarchical_memory_limit 9223372036854771712
            hierarchical_memsw_limit 9223372036854771712
            total_cache 2986926080
            total_rss 232009728
            total_rss_huge 188743680
            total_shmem 9068544
            total_mapped_file 95588352
            total_dirty 798720
            total_writeback 0
            total_workingset_refault_anon 0
            total_workingset_refault_file 22
            total_swap 0
            total_swapcached 0
            total_pgpgin 8406337
            total_pgpgout 8005794
            total_pgfault 12156488
            total_pgmajfault 703
            total_inactive_anon 224833536
            total_active_anon 1622016
            total_inactive_file 2272260096
            total_active_file 705593344
            total_unevictable 14524416
            """;

    /** v1 cpu.stat of a cgroup without a quota. */
    static final String V1_CPU_STAT = """
            nr_periods 0
            nr_throttled 0
            throttled_time 0
            nr_bursts 0
            burst_time 0
            """;

    /** v1 memory.oom_control. */
    static final String V1_OOM_CONTROL = """
            oom_kill_disable 0
            under_oom 0
            oom_kill 0
            """;

    /** v1 blkio.throttle.io_service_bytes_recursive of a cgroup that did IO on one disk. */
    static final String V1_BLKIO_BYTES = """
            254:0 Read 1310720
            254:0 Write 5242880
            254:0 Sync 6553600
            254:0 Async 0
            254:0 Discard 0
            254:0 Total 6553600
            Total 6553600
            """;

    /** v1 blkio.throttle.io_serviced_recursive, same cgroup. */
    static final String V1_BLKIO_OPS = """
            254:0 Read 24
            254:0 Write 1280
            254:0 Sync 1304
            254:0 Async 0
            254:0 Discard 0
            254:0 Total 1304
            Total 1304
            """;

    /** v1 blkio file of a cgroup without IO: what most cgroups show every cycle. */
    static final String V1_BLKIO_EMPTY = "Total 0\n";

    /** PSI file (cgroup2 cpu.pressure). */
    static final String PRESSURE = """
            some avg10=0.00 avg60=0.12 avg300=0.08 total=7004406
            full avg10=0.00 avg60=0.03 avg300=0.02 total=1530127
            """;

    /** v2 memory.stat (kernel 6.1): 51 lines; the reader wants anon, file, file_mapped, inactive_file. */
    static final String V2_MEMORY_STAT = """
            anon 0
            file 857763840
            kernel 3641344
            kernel_stack 0
            pagetables 0
            sec_pagetables 0
            percpu 0
            sock 0
            vmalloc 0
            shmem 8388608
            zswap 0
            zswapped 0
            file_mapped 0
            file_dirty 0
            file_writeback 0
            swapcached 0
            anon_thp 0
            file_thp 0
            shmem_thp 0
            inactive_anon 0
            active_anon 8388608
            inactive_file 609861632
            active_file 239513600
            unevictable 0
            slab_reclaimable 3635168
            slab_unreclaimable 4288
            slab 3639456
            workingset_refault_anon 0
            workingset_refault_file 0
            workingset_activate_anon 0
            workingset_activate_file 0
            workingset_restore_anon 0
            workingset_restore_file 0
            workingset_nodereclaim 0
            pgscan 0
            pgsteal 0
            pgscan_kswapd 0
            pgscan_direct 0
            pgsteal_kswapd 0
            pgsteal_direct 0
            pgfault 35319
            pgmajfault 0
            pgrefill 0
            pgactivate 60523
            pgdeactivate 0
            pglazyfree 0
            pglazyfreed 0
            zswpin 0
            zswpout 0
            thp_fault_alloc 0
            thp_collapse_alloc 0
            """;

    /** v2 cpu.stat with the cpu controller enabled (kernel 6.1). */
    static final String V2_CPU_STAT = """
            usage_usec 27022469
            user_usec 879758
            system_usec 26142711
            nr_periods 0
            nr_throttled 0
            throttled_usec 0
            nr_bursts 0
            burst_usec 0
            """;

    /** v2 io.stat with two devices. */
    static final String V2_IO_STAT = """
            254:0 rbytes=1310720 wbytes=5242880 rios=24 wios=1280 dbytes=0 dios=0
            7:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0
            """;

    /** A single-value file (memory.usage_in_bytes, memory.current, pids.current, ...). */
    static final String VALUE = "232009728\n";

    /** v2 cpu.max with a quota: the reader takes both tokens. */
    static final String CPU_MAX = "50000 100000\n";

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}

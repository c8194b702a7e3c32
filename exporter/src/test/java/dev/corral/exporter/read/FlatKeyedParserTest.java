package dev.corral.exporter.read;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.exporter.sample.Absent;
import dev.corral.exporter.sample.Limits;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** "key value" files, with contents copied from this host's v1 files and from the kernel's cgroup-v2.rst. */
@Tag("unit")
class FlatKeyedParserTest {

    /** v1 memory.stat of this host's root memory cgroup (kernel 6.18). */
    static final String V1_MEMORY_STAT = """
            cache 46899200
            rss 4325376
            rss_huge 0
            shmem 9068544
            mapped_file 6946816
            dirty 45056
            writeback 0
            workingset_refault_anon 0
            workingset_refault_file 0
            swap 0
            swapcached 0
            pgpgin 29721
            pgpgout 17253
            pgfault 27368
            pgmajfault 0
            inactive_anon 0
            active_anon 1531904
            inactive_file 15155200
            active_file 22675456
            unevictable 11862016
            hierarchical_memory_limit 9223372036854771712
            hierarchical_memsw_limit 9223372036854771712
            total_cache 3225145344
            total_rss 207392768
            total_rss_huge 174063616
            total_shmem 9068544
            total_mapped_file 95240192
            total_dirty 356352
            total_writeback 0
            total_workingset_refault_anon 0
            total_workingset_refault_file 22
            total_swap 0
            total_swapcached 0
            total_pgpgin 3812926
            total_pgpgout 3350870
            total_pgfault 5749738
            total_pgmajfault 670
            total_inactive_anon 202854400
            total_active_anon 1572864
            total_inactive_file 2672562176
            total_active_file 543514624
            total_unevictable 11862016
            """;

    /** v2 memory.stat (kernel 6.x, abridged to one of each kind of line). */
    static final String V2_MEMORY_STAT = """
            anon 150994944
            file 104857600
            kernel 9437184
            kernel_stack 1048576
            pagetables 2097152
            sec_pagetables 0
            percpu 540672
            sock 0
            vmalloc 0
            shmem 0
            zswap 0
            zswapped 0
            file_mapped 20971520
            file_dirty 135168
            file_writeback 0
            swapcached 0
            anon_thp 0
            file_thp 0
            shmem_thp 0
            inactive_anon 150732800
            active_anon 262144
            inactive_file 62914560
            active_file 41943040
            unevictable 0
            slab_reclaimable 4194304
            slab_unreclaimable 1572864
            slab 5767168
            workingset_refault_anon 0
            workingset_refault_file 12
            pgfault 61782
            pgmajfault 14
            thp_fault_alloc 0
            """;

    private static long[] parse(String text, String... keys) {
        long[] out = new long[keys.length + 2];
        ParserInput t = ParserInput.of(text);
        FlatKeyedParser.parse(t.bytes, t.length, new KeyTable(keys), out);
        long[] again = new long[keys.length + 2];
        ParserInput reused = ParserInput.inReusedBuffer(text);
        FlatKeyedParser.parse(reused.bytes, reused.length, new KeyTable(keys), again);
        assertThat(again).isEqualTo(out);
        return java.util.Arrays.copyOf(out, keys.length);
    }

    @Test
    void v1MemoryStat() {
        assertThat(parse(V1_MEMORY_STAT, "total_rss", "total_cache", "total_mapped_file", "total_inactive_file",
                "rss", "cache", "mapped_file", "inactive_file", "hierarchical_memory_limit"))
                .containsExactly(207392768, 3225145344L, 95240192, 2672562176L, 4325376, 46899200, 6946816,
                        15155200, 9223372036854771712L);
    }

    @Test
    void v2MemoryStatWhereKeysArePrefixesOfOthers() {
        // "file" is a prefix of "file_mapped", "file_dirty", "file_thp"; "anon" of "anon_thp"; "slab" of "slab_*"
        assertThat(parse(V2_MEMORY_STAT, "anon", "file", "file_mapped", "inactive_file", "slab", "pgfault"))
                .containsExactly(150994944, 104857600, 20971520, 62914560, 5767168, 61782);
        assertThat(parse("file_mapped 5\nfile 7\n", "file", "file_mapped")).containsExactly(7, 5);
        assertThat(parse("file_mapped 5\n", "file", "file_mapped")).containsExactly(Absent.VALUE, 5);
        assertThat(parse("file 7\n", "file_mapped", "fil")).containsExactly(Absent.VALUE, Absent.VALUE);
    }

    @Test
    void v1CpuStatAndCpuacctStatAndOomControl() {
        String cpuStat = "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n";
        assertThat(parse(cpuStat, "nr_periods", "nr_throttled", "throttled_time")).containsExactly(0, 0, 0);
        assertThat(parse("user 41120\nsystem 4344\n", "user", "system")).containsExactly(41120, 4344);
        assertThat(parse("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "oom_kill")).containsExactly(0);
        assertThat(parse("oom_kill_disable 1\nunder_oom 1\noom_kill 3\n", "oom_kill", "under_oom"))
                .containsExactly(3, 1);
        // before Linux 4.13 memory.oom_control had no oom_kill line
        assertThat(parse("oom_kill_disable 0\nunder_oom 0\n", "oom_kill")).containsExactly(Absent.VALUE);
    }

    @Test
    void v2CpuStatAndMemoryEvents() {
        String cpuStat = """
                usage_usec 455024923
                user_usec 411495195
                system_usec 43529728
                nice_usec 0
                core_sched.force_idle_usec 0
                nr_periods 1423
                nr_throttled 57
                throttled_usec 1936112
                nr_bursts 0
                burst_usec 0
                """;
        assertThat(parse(cpuStat, "usage_usec", "user_usec", "system_usec", "nr_periods", "nr_throttled",
                "throttled_usec")).containsExactly(455024923, 411495195, 43529728, 1423, 57, 1936112);
        // without the cpu controller only the first three keys exist
        assertThat(parse("usage_usec 13484\nuser_usec 9000\nsystem_usec 4484\n", "usage_usec", "nr_periods",
                "throttled_usec")).containsExactly(13484, Absent.VALUE, Absent.VALUE);
        String events = "low 0\nhigh 12\nmax 34\noom 2\noom_kill 1\noom_group_kill 0\n";
        assertThat(parse(events, "high", "max", "oom_kill", "oom")).containsExactly(12, 34, 1, 2);
    }

    @Test
    void edgeCases() {
        assertThat(parse("", "a")).containsExactly(Absent.VALUE);
        assertThat(parse("\n", "a")).containsExactly(Absent.VALUE);
        assertThat(parse("a 1\nb 2", "a", "b")).as("no trailing newline").containsExactly(1, 2);
        assertThat(parse("a 1\n\nb 2\n", "a", "b")).as("blank line").containsExactly(1, 2);
        assertThat(parse("a\tb\n", "a")).as("tab separated, not a number").containsExactly(Absent.VALUE);
        assertThat(parse("a\t5\n", "a")).containsExactly(5);
        assertThat(parse("a  5\n", "a")).containsExactly(5);
        assertThat(parse("a\n", "a")).as("key without value").containsExactly(Absent.VALUE);
        assertThat(parse("a 12x\nb 1.5\nc -\nd +4\n", "a", "b", "c", "d"))
                .containsExactly(Absent.VALUE, Absent.VALUE, Absent.VALUE, Absent.VALUE);
        assertThat(parse("a max\nb -7\n", "a", "b")).containsExactly(Limits.UNLIMITED, -7);
        assertThat(parse("a 1\na 2\n", "a")).as("the first of a repeated key: parsing stops once every key is found "
                + "(the kernel never repeats one)").containsExactly(1);
        assertThat(parse("a 1 2\n", "a")).as("extra tokens ignored").containsExactly(1);
        assertThat(parse("A 1\n", "a")).as("case sensitive").containsExactly(Absent.VALUE);
    }

    @Test
    void previousValuesAreClearedToAbsent() {
        long[] out = {5, 6, 7};
        ParserInput t = ParserInput.of("b 9\n");
        FlatKeyedParser.parse(t.bytes, t.length, new KeyTable("a", "b"), out);

        assertThat(out).containsExactly(Absent.VALUE, 9, 7); // only the table's slots are touched
    }
}

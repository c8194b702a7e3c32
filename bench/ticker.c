/*
 * ticker: a "busy" cgroup's process for the collection benchmarks (bench/collection.sh): it wakes every
 * --period-ms (default 250) and computes for about --work-us (default 50) microseconds, so its cgroup's CPU usage
 * moves every second at a cost to the machine of 0.02 % of a core per process; anything else stays put.
 *
 *   gcc -O2 -o ticker ticker.c && ticker [--period-ms 250] [--work-us 50]
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    long period_ms = 250, work_us = 50;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--period-ms") == 0) period_ms = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--work-us") == 0) work_us = atol(argv[i + 1]);
    }
    struct timespec period = {period_ms / 1000, (period_ms % 1000) * 1000000L};
    volatile unsigned long sink = 0;
    for (;;) {
        nanosleep(&period, NULL);
        double end = now_us() + work_us;
        while (now_us() < end) sink += sink * 31 + 7;
    }
}

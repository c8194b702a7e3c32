/*
 * The kernel's part of an image root: mount(2) of an overlay (the image's lower dirs plus a container's
 * upper/work dirs, as corral-shim mounts it) against the bind mount of a rootfs directory, interleaved, in a
 * private mount namespace. Each mount is undone with umount2(MNT_DETACH) outside the timed part.
 *   overlay-mount RUNS MOUNTPOINT OVERLAY_OPTIONS BIND_SOURCE      prints: median_overlay_ms median_bind_ms
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: overlay-mount RUNS MOUNTPOINT OVERLAY_OPTIONS BIND_SOURCE\n");
        return 2;
    }
    int runs = atoi(argv[1]);
    const char *mp = argv[2];
    if (runs < 1 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        perror("overlay-mount: setup");
        return 1;
    }
    double *ovl = calloc((size_t)runs, sizeof *ovl), *bind = calloc((size_t)runs, sizeof *bind);
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        if (mount("overlay", mp, "overlay", 0, argv[3]) < 0) {
            perror("overlay-mount: overlay");
            return 1;
        }
        ovl[i] = now_ms() - t0;
        umount2(mp, MNT_DETACH);
        t0 = now_ms();
        if (mount(argv[4], mp, NULL, MS_BIND | MS_REC, NULL) < 0) {
            perror("overlay-mount: bind");
            return 1;
        }
        bind[i] = now_ms() - t0;
        umount2(mp, MNT_DETACH);
    }
    qsort(ovl, (size_t)runs, sizeof *ovl, cmp);
    qsort(bind, (size_t)runs, sizeof *bind, cmp);
    printf("%.3f %.3f\n", ovl[(runs - 1) / 2], bind[(runs - 1) / 2]);
    return 0;
}

/*
 * libcorral-read: the collector's reads of kernel files (cgroup and proc files kept open and re-read at offset 0)
 * through JNI, for dev.corral.exporter.read.NativeReads.
 *
 * FileChannel.read(ByteBuffer, position) costs about 0.3 us of user time per call on top of the pread itself
 * (interruptible-channel bookkeeping, a thread set, a copy out of the direct buffer); this is one JNI call and
 * the pread straight into the Java byte array: about 0.1 us. A collection cycle makes 14 such reads per cgroup
 * (docs/benchmarks.md and its history). Errors come back as -errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jni.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

JNIEXPORT jint JNICALL Java_dev_corral_exporter_read_NativeReads_open0(JNIEnv *env, jclass cls, jbyteArray path)
{
    (void)cls;
    char p[PATH_MAX];
    jsize n = (*env)->GetArrayLength(env, path);
    if (n <= 0 || n >= (jsize)sizeof p)
        return -ENAMETOOLONG;
    (*env)->GetByteArrayRegion(env, path, 0, n, (jbyte *)p);
    p[n] = 0;
    if (memchr(p, 0, (size_t)n))
        return -EINVAL;
    int fd;
    do
        fd = open(p, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

/*
 * Reads up to cap bytes at offset 0 into the array. The array is pinned (a critical region) only for the
 * duration of one pread of a kernel file, which never blocks on IO.
 */
JNIEXPORT jint JNICALL Java_dev_corral_exporter_read_NativeReads_pread0(JNIEnv *env, jclass cls, jint fd,
                                                                         jbyteArray into, jint cap)
{
    (void)cls;
    if (cap < 0 || cap > (*env)->GetArrayLength(env, into))
        return -EINVAL;
    void *b = (*env)->GetPrimitiveArrayCritical(env, into, NULL);
    if (b == NULL)
        return -ENOMEM;
    ssize_t n;
    do
        n = pread(fd, b, (size_t)cap, 0);
    while (n < 0 && errno == EINTR);
    int err = errno;
    (*env)->ReleasePrimitiveArrayCritical(env, into, b, 0);
    return n < 0 ? -err : (jint)n;
}

JNIEXPORT jint JNICALL Java_dev_corral_exporter_read_NativeReads_close0(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    return close(fd) < 0 ? -errno : 0; /* no retry on EINTR: on Linux the descriptor is closed anyway */
}

JNIEXPORT jstring JNICALL Java_dev_corral_exporter_read_NativeReads_strerror0(JNIEnv *env, jclass cls, jint err)
{
    (void)cls;
    char buf[128];
    return (*env)->NewStringUTF(env, strerror_r(err, buf, sizeof buf));
}

package dev.corral.exporter.read;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kernel-file reads through the small JNI library libcorral-read (src/main/c/corral-read.c): open, pread at offset
 * 0 straight into a byte array, close. A FileChannel read costs about three times the pread's own user time in
 * JDK bookkeeping, and the collector makes 14 reads per cgroup and cycle. Without the library (a build without a
 * C compiler, another architecture, a noexec temp dir) {@link #available()} is false and {@link KernelFile} reads
 * through FileChannel, slower but the same.
 */
final class NativeReads {

    private static final Logger LOG = LoggerFactory.getLogger(NativeReads.class);
    static final String RESOURCE = "/native/linux-x86_64/libcorral-read.so";
    /** Set to true to read through FileChannel even where the library loads (tests, and a way out). */
    static final String DISABLE_PROPERTY = "corral.javaReads";
    private static final boolean AVAILABLE = load();

    private NativeReads() {
    }

    static boolean available() {
        return AVAILABLE;
    }

    private static boolean load() {
        if (Boolean.getBoolean(DISABLE_PROPERTY) || !"amd64".equals(System.getProperty("os.arch"))) {
            return false;
        }
        try (InputStream in = NativeReads.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                LOG.info("this build has no libcorral-read (built without a C compiler): kernel files are read "
                        + "through FileChannel");
                return false;
            }
            // Loaded from a private temp copy that is unlinked at once: the mapping outlives the name, and
            // nothing is left behind in the temp dir.
            Path copy = Files.createTempFile("corral-read-", ".so");
            try {
                Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
                System.load(copy.toString());
            } finally {
                Files.deleteIfExists(copy);
            }
            return true;
        } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
            LOG.warn("could not load libcorral-read ({}): kernel files are read through FileChannel", e.toString());
            return false;
        }
    }

    /** A descriptor, or -errno. */
    static int open(Path path) {
        return open0(path.toString().getBytes(StandardCharsets.UTF_8));
    }

    static String describe(int errno) {
        return strerror0(errno) + " (errno " + errno + ")";
    }

    private static native int open0(byte[] path);

    /** Reads up to {@code cap} bytes at offset 0 into {@code into}: the count, or -errno. */
    static native int pread0(int fd, byte[] into, int cap);

    static native int close0(int fd);

    private static native String strerror0(int errno);
}

package dev.corral.exporter.sample;

/** Linux dev_t values (st_dev, st_rdev) as "MAJOR:MINOR", decoded as glibc's gnu_dev_major/minor do. */
public final class DeviceNumbers {

    private DeviceNumbers() {
    }

    public static long major(long dev) {
        return ((dev >>> 8) & 0xfffL) | ((dev >>> 32) & 0xfffff000L);
    }

    public static long minor(long dev) {
        return (dev & 0xffL) | ((dev >>> 12) & 0xffffff00L);
    }

    public static String format(long dev) {
        return major(dev) + ":" + minor(dev);
    }
}

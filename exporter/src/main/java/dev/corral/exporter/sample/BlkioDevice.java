package dev.corral.exporter.sample;

/** Block IO of one cgroup on one device: bytes and operations (v1 blkio, v2 io.stat). */
public record BlkioDevice(int major, int minor, long readBytes, long writeBytes, long readOps, long writeOps) {

    public String device() {
        return major + ":" + minor;
    }
}

package dev.corral.exporter.read;

/** Where readers report a file that exists but could not be read. */
@FunctionalInterface
public interface ReadErrors {

    void failed(java.nio.file.Path file, Exception cause);
}

package dev.corral.exporter.sample;

/** @param max {@link Limits#UNLIMITED} for "max" */
public record PidsStats(long current, long max) {
}

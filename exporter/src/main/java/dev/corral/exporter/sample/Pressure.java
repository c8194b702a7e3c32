package dev.corral.exporter.sample;

/** PSI totals in microseconds: "some" (some tasks waiting) and "full" (all non-idle tasks stalled). */
public record Pressure(long someMicros, long fullMicros) {
}

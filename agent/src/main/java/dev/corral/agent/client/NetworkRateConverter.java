package dev.corral.agent.client;

import dev.corral.exporter.sample.NetworkRates;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Rates as tc takes them: "500kbit", "10mbit", "1gbit", "2mbps"; "max" or "-1" for no limit. */
public final class NetworkRateConverter implements ITypeConverter<Long> {

    @Override
    public Long convert(String value) {
        try {
            return NetworkRates.parseLimit(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}

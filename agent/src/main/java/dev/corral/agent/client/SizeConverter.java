package dev.corral.agent.client;

import dev.corral.exporter.sample.ByteSizes;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Sizes as docker takes them: "512", "64k", "256m", "1g"; "max" or "-1" for unlimited. */
public final class SizeConverter implements ITypeConverter<Long> {

    @Override
    public Long convert(String value) {
        try {
            return ByteSizes.parseLimit(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}

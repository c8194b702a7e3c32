package dev.corral.agent.server;

import dev.corral.exporter.metrics.MetricsPage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * The /metrics body gzipped, for scrapers that ask for it (Prometheus sends {@code Accept-Encoding: gzip}), as
 * cAdvisor's is: at 1,000 cgroups 2.88 MB of text goes over the network as 142 KB (docs/benchmarks.md). Compressed on
 * the metrics thread, never on the event loop, at the fastest level: the text is repetitive enough that higher
 * levels gain little for several times the CPU.
 */
final class GzipMetrics {

    private GzipMetrics() {
    }

    /**
     * Whether an Accept-Encoding header value allows gzip: named with a weight above 0, or not named and allowed by
     * {@code *} (RFC 9110, 12.5.3). A malformed weight counts as 0: do not guess.
     */
    static boolean accepted(String acceptEncoding) {
        if (acceptEncoding == null) {
            return false;
        }
        Double gzip = null;
        Double any = null;
        for (String coding : acceptEncoding.split(",")) {
            String[] parts = coding.split(";");
            String name = parts[0].trim();
            double q = 1;
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i].trim();
                if (p.startsWith("q=")) {
                    try {
                        q = Double.parseDouble(p.substring(2).trim());
                    } catch (NumberFormatException e) {
                        q = 0;
                    }
                }
            }
            if (name.equalsIgnoreCase("gzip")) {
                gzip = q;
            } else if (name.equals("*")) {
                any = q;
            }
        }
        Double weight = gzip != null ? gzip : any;
        return weight != null && weight > 0;
    }

    static byte[] compress(MetricsPage.Body body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length() / 8 + 256);
        try (GZIPOutputStream gzip = new FastGzip(out)) {
            body.writeTo(gzip);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory streams do not fail
        }
        return out.toByteArray();
    }

    private static final class FastGzip extends GZIPOutputStream {
        FastGzip(ByteArrayOutputStream out) throws IOException {
            super(out, 64 * 1024);
            def.setLevel(Deflater.BEST_SPEED);
        }
    }
}

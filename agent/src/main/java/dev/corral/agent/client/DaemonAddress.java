package dev.corral.agent.client;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Where the daemon's API is: {@code unix:///PATH} (the default, {@code unix:///run/corral/corral.sock}) or
 * {@code tcp://HOST:PORT} (IPv6 hosts in brackets; the port defaults to 9431). A bare absolute path means a unix
 * socket; {@code http://} is accepted as a synonym of {@code tcp://}.
 *
 * @param socketPath the unix socket, or null for TCP
 */
public record DaemonAddress(String socketPath, String host, int port) {

    public static final String DEFAULT_SOCKET = "/run/corral/corral.sock";
    public static final int DEFAULT_PORT = 9431;
    public static final DaemonAddress DEFAULT = unix(DEFAULT_SOCKET);

    public static DaemonAddress unix(String path) {
        return new DaemonAddress(path, null, 0);
    }

    public static DaemonAddress tcp(String host, int port) {
        return new DaemonAddress(null, host, port);
    }

    public boolean isUnix() {
        return socketPath != null;
    }

    public static final class Converter implements ITypeConverter<DaemonAddress> {
        @Override
        public DaemonAddress convert(String value) {
            return parse(value);
        }
    }

    /** @throws TypeConversionException naming the problem */
    public static DaemonAddress parse(String value) {
        String v = value.trim();
        if (v.startsWith("unix://")) {
            String path = v.substring("unix://".length());
            if (!path.startsWith("/") || path.length() < 2) {
                throw new TypeConversionException("'" + value + "' needs an absolute socket path: unix:///PATH");
            }
            return unix(path);
        }
        if (v.startsWith("/") && v.length() > 1) {
            return unix(v);
        }
        String rest;
        if (v.startsWith("tcp://")) {
            rest = v.substring("tcp://".length());
        } else if (v.startsWith("http://")) {
            rest = v.substring("http://".length());
        } else {
            throw new TypeConversionException("'" + value + "' is not a daemon address: use unix:///PATH or "
                    + "tcp://HOST:PORT");
        }
        if (rest.endsWith("/")) {
            rest = rest.substring(0, rest.length() - 1);
        }
        String host = rest;
        int port = DEFAULT_PORT;
        int close = rest.lastIndexOf(']');
        int colon = rest.lastIndexOf(':');
        if (rest.startsWith("[")) {
            if (close < 0) {
                throw new TypeConversionException("'" + value + "' has an unclosed '[' in its host");
            }
            host = rest.substring(1, close);
            if (colon > close) {
                port = port(rest.substring(colon + 1), value);
            } else if (close != rest.length() - 1) {
                throw new TypeConversionException("'" + value + "' is not tcp://HOST:PORT");
            }
        } else if (colon >= 0) {
            if (rest.indexOf(':') != colon) {
                throw new TypeConversionException("'" + value + "': put an IPv6 host in brackets, e.g. tcp://[::1]:9431");
            }
            host = rest.substring(0, colon);
            port = port(rest.substring(colon + 1), value);
        }
        if (host.isEmpty() || host.contains("/") || host.contains("@")) {
            throw new TypeConversionException("'" + value + "' has no valid host: use tcp://HOST:PORT");
        }
        return tcp(host, port);
    }

    private static int port(String text, String value) {
        try {
            int port = Integer.parseInt(text);
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new TypeConversionException("'" + value + "' needs a port between 1 and 65535");
    }

    @Override
    public String toString() {
        return isUnix() ? "unix://" + socketPath : "tcp://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}

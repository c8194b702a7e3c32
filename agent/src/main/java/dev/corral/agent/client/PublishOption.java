package dev.corral.agent.client;

import dev.corral.agent.spec.ContainerSpec;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Docker's -p: {@code [hostIp:][hostPort:]containerPort[/tcp|udp]} (an empty hostPort picks a free one). */
final class PublishOption {

    private static final Pattern FORM = Pattern.compile(
            "(?:(?:(\\d{1,3}(?:\\.\\d{1,3}){3}):)?(\\d*):)?(\\d+)(?:/(tcp|udp))?");

    private PublishOption() {
    }

    static ContainerSpec.Port parse(String v, Function<String, RuntimeException> usage) {
        Matcher m = FORM.matcher(v);
        if (!m.matches()) {
            throw usage.apply("-p: '" + v + "' is not [IP:]HOSTPORT:PORT[/tcp|udp] or PORT");
        }
        Integer hostPort = m.group(2) == null || m.group(2).isEmpty() ? null : port(m.group(2), v, usage);
        return new ContainerSpec.Port(m.group(1), hostPort, port(m.group(3), v, usage), m.group(4));
    }

    private static int port(String s, String v, Function<String, RuntimeException> usage) {
        int p = s.length() > 5 ? -1 : Integer.parseInt(s);
        if (p < 1 || p > 65535) {
            throw usage.apply("-p: '" + v + "': port " + s + " is not 1-65535");
        }
        return p;
    }
}

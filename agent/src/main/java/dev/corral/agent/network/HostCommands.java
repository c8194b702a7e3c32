package dev.corral.agent.network;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code ip} and {@code nft} (iproute2, nftables). Only for what is done once per network (and at the agent's
 * start), never per launch: a container's own veth is made by corral-shim with one netlink request, its published
 * ports are map elements written by {@link NftMaps}.
 */
final class HostCommands {

    private HostCommands() {
    }

    /** Its stdout; an IOException naming the command and its stderr when it fails. */
    static String run(List<String> argv, String stdin) throws IOException {
        Process p = new ProcessBuilder(argv).start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", argv) + ": no answer in 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", argv), e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", argv) + " failed (exit " + p.exitValue() + "): " + err);
        }
        return out;
    }

    static String run(String... argv) throws IOException {
        return run(List.of(argv), null);
    }
}

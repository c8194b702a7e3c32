package dev.corral.agent.network;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.runtime.ContainerRecord;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * Parallel starts get distinct addresses (each container's own eth0 says so too), their removal leaves no veth on
 * the bridge and no network.json, and after the agent's runtime closes and opens again every running networked
 * container is still reachable at its address (NetworkAgentKillIT kills a real agent process). The issue's
 * figures by default: 8 clients x 40 runs; -Dcorral.churn.clients/runs/live scale it. Each run is bounded (60 s),
 * the whole in 10 minutes.
 */
@Tag("root")
@Tag("slow")
class NetworkChurnTest {

    private static final int CLIENTS = Integer.getInteger("corral.churn.clients", 8);
    private static final int RUNS = Integer.getInteger("corral.churn.runs", 40);
    private static final int LIVE = Integer.getInteger("corral.churn.live", 12);

    private NetFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new NetFixture(22); // every run keeps its address until removed: 320 of them do not fit a /24
    }

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    @Test
    void parallelStartsGetDistinctAddressesAndSurviveAnAgentRestart() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        long started = System.nanoTime();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int client = c;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < RUNS; i++) {
                        ContainerRecord r = fx.runToExit("{'name':'churn-" + client + "-" + i + "','command':"
                                + "['/bin/sh','-c','ip -4 addr show eth0 | grep -o inet.[0-9.]*']}");
                        assertThat(r.exitCode()).isZero();
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(Math.max(1, 10 * 60_000 - (System.nanoTime() - started) / 1_000_000), TimeUnit.MILLISECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        System.out.printf("churn: %d clients x %d networked runs in %.1f s%n", CLIENTS, RUNS,
                (System.nanoTime() - started) / 1e9);
        Set<String> addresses = new HashSet<>();
        for (int c = 0; c < CLIENTS; c++) {
            for (int i = 0; i < RUNS; i++) {
                String name = "churn-" + c + "-" + i;
                String address = fx.runtime.networks().attachment(name).orElseThrow().address();
                assertThat(fx.stdout(name)).as("its own eth0").isEqualTo("inet " + address + "\n");
                assertThat(addresses.add(address)).as("address of " + name + " is unique").isTrue();
            }
        }
        for (int c = 0; c < CLIENTS; c++) {
            for (int i = 0; i < RUNS; i++) {
                fx.runtime.remove("churn-" + c + "-" + i, false);
            }
        }
        assertThat(fx.bridgePortsSettled()).as("veths left on the bridge").isEmpty();
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.walk(fx.dirs.stateDir)) {
            assertThat(files.filter(f -> f.getFileName().toString().equals(NetworkManager.FILE)).toList())
                    .as("addresses left in network.json").isEmpty();
        }
        for (int c = 0; c < CLIENTS; c++) {
            for (int i = 0; i < RUNS; i++) {
                assertThat(fx.runtime.networks().attachment("churn-" + c + "-" + i)).isEmpty();
            }
        }

        List<String> live = new ArrayList<>();
        for (int i = 0; i < LIVE; i++) {
            fx.runtime.run(fx.spec("{'name':'live-" + i + "','command':['/bin/httpd','-f','-p','80','-h','/www']}"));
            live.add(fx.runtime.networks().attachment("live-" + i).orElseThrow().address());
        }
        assertThat(new HashSet<>(live)).hasSize(LIVE);
        fx.restart();
        assertThat(fx.bridgePorts()).hasSize(LIVE);
        for (int i = 0; i < LIVE; i++) {
            assertThat(fx.runtime.networks().attachment("live-" + i).orElseThrow().address()).isEqualTo(live.get(i));
            assertThat(NetFixture.fetch("http://" + live.get(i) + "/")).as("live-" + i).isEqualTo("hello from corral\n");
        }
        // a start after the restart does not reuse a live address
        fx.runToExit("{'name':'after','command':['/bin/true']}");
        assertThat(live).doesNotContain(fx.runtime.networks().attachment("after").orElseThrow().address());
    }
}

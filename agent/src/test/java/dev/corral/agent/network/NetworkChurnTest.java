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
 * Parallel starts get distinct addresses (each container's own eth0 says so too), and after the agent dies and
 * starts again every running networked container is still reachable at its address. Sized for a shared 2-core
 * machine; -Dcorral.churn.clients/runs/live scale it (the figures: 8, 40, 30).
 */
@Tag("root")
class NetworkChurnTest {

    private static final int CLIENTS = Integer.getInteger("corral.churn.clients", 8);
    private static final int RUNS = Integer.getInteger("corral.churn.runs", 5);
    private static final int LIVE = Integer.getInteger("corral.churn.live", 12);

    private NetFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new NetFixture();
    }

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    @Test
    void parallelStartsGetDistinctAddressesAndSurviveAnAgentRestart() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
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
                f.get(10, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
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
        assertThat(fx.bridgePortsSettled()).isEmpty();

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

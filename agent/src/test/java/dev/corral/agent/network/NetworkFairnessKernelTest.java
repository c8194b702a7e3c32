package dev.corral.agent.network;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.policy.PolicyLoop;
import dev.corral.agent.policy.PolicySource;
import dev.corral.agent.runtime.ContainerEvent;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.sample.CgroupSample;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * networkFairness end to end on the real kernel: two httpd containers of weights 1 and 3, each fetched from by a
 * client container of its own (on the host's network, as the outside would be), share a configured 16mbit. The policy loop runs as in the agent (its own thread,
 * real veth counters, real tc); the collector's snapshots are stood in for (the rule reads no cgroup sample, only
 * that the container is live). Traffic only between the test's containers; everything bounded (clients are
 * removed with the fixture).
 */
@Tag("root")
class NetworkFairnessKernelTest {

    private static final String POLICY = "{'classes':[{'name':'hi','weight':3,'selector':{'names':['hi*']}},"
            + "{'name':'lo','weight':1}],'policies':{'cpuFairness':{'enabled':false},'memoryPressure':"
            + "{'enabled':false},'oomProtection':{'enabled':false},'ioFairness':{'enabled':false},"
            + "'admission':{'enabled':false},'networkFairness':{'capacity':'16mbit','headroom':1.0,"
            + "'cooldown':'1s','liftAfter':'2s'}}}";

    private NetFixture fx;
    private Path policyFile;

    @BeforeEach
    void setUp() throws Exception {
        fx = new NetFixture();
        try (RandomAccessFile f = new RandomAccessFile(fx.rootfs.resolve("www/big").toFile(), "rw")) {
            f.setLength(200_000_000); // more than 30 s at 20mbit: the fetches last as long as the test
        }
        policyFile = Files.createTempFile("corral-netlimit-policy", ".json");
        Files.writeString(policyFile, POLICY.replace('\'', '"'));
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            fx.close();
        } finally {
            Files.deleteIfExists(policyFile);
        }
    }

    /** A snapshot in which each running container is live (empty samples). */
    private Snapshot snapshot() throws Exception {
        long now = System.currentTimeMillis();
        Map<String, CgroupSample> live = new HashMap<>();
        for (ContainerRecord r : fx.runtime.list()) {
            live.put(r.cgroup(), new CgroupSample(r.cgroup(), now, 0, null, null, List.of(), null, null, null));
        }
        return new Snapshot(now, live, Map.of());
    }

    private static long sent(Attachment a) {
        return TrafficControl.counters(a).orElseThrow()[0];
    }

    @Test
    void weights1To3ThroughASharedRateGive1To3() throws Exception {
        // their own rate bounds what they send before the policy acts (each alone would take 20mbit)
        String server = "'command':['/bin/httpd','-f','-p','80','-h','/www'],'limits':{'network':{'egress':'20mbit'}}";
        ContainerRecord lo = fx.runtime.run(fx.spec("{'name':'lo'," + server + "}"));
        ContainerRecord hi = fx.runtime.run(fx.spec("{'name':'hi'," + server + "}"));
        Attachment loNet = fx.runtime.networks().attachment("lo").orElseThrow();
        Attachment hiNet = fx.runtime.networks().attachment("hi").orElseThrow();
        List<ContainerEvent> audits = new CopyOnWriteArrayList<>();
        fx.runtime.addListener(e -> {
            if (e.type() == ContainerEvent.Type.POLICY) {
                audits.add(e);
            }
        });
        PolicyLoop loop = PolicyLoop.start(fx.runtime, PolicySource.file(policyFile), false, Path.of("/proc"),
                new SimpleMeterRegistry());
        try {
            for (String c : List.of("lo", "hi")) {
                String address = (c.equals("lo") ? loNet : hiNet).address();
                // on the host's network: only the two senders are on the bridge, sharing what they send
                fx.runtime.run(fx.spec("{'name':'" + c + "-get','namespaces':{'network':'host'},"
                        + "'command':['/bin/wget','-q','-O','/dev/null',"
                        + "'http://" + address + "/big']}"));
            }
            Snapshot before = snapshot();
            long deadline = System.currentTimeMillis() + 15_000;
            Optional<Long> loRate = Optional.empty();
            Optional<Long> hiRate = Optional.empty();
            while (System.currentTimeMillis() < deadline && (loRate.isEmpty() || hiRate.isEmpty()
                    || loRate.get() >= 2_500_000 || hiRate.get() >= 2_500_000)) {
                Thread.sleep(500);
                Snapshot now = snapshot();
                loop.collected(before, now);
                before = now;
                loRate = TrafficControl.rate("eth0", lo.initPid());
                hiRate = TrafficControl.rate("eth0", hi.initPid());
            }
            assertThat(loRate).as("lo's rate set by the policy").isPresent();
            assertThat(hiRate).as("hi's rate set by the policy").isPresent();
            // settled: no change of the policy's for 3 s (within 20 s); then what each sent over 4 s, the policy
            // still running
            long settleDeadline = System.currentTimeMillis() + 20_000;
            while (System.currentTimeMillis() < settleDeadline && (audits.isEmpty()
                    || System.currentTimeMillis() - audits.get(audits.size() - 1).timeMillis() < 3000)) {
                Thread.sleep(500);
                Snapshot now = snapshot();
                loop.collected(before, now);
                before = now;
            }
            long lo0 = sent(loNet);
            long hi0 = sent(hiNet);
            long t0 = System.nanoTime();
            for (int i = 0; i < 8; i++) {
                Thread.sleep(500);
                Snapshot now = snapshot();
                loop.collected(before, now);
                before = now;
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double loMbit = (sent(loNet) - lo0) * 8 / seconds / 1e6;
            double hiMbit = (sent(hiNet) - hi0) * 8 / seconds / 1e6;
            System.out.printf("network fairness: lo %.2f Mbit/s, hi %.2f Mbit/s, ratio %.2f (tc lo %d, hi %d B/s)%n",
                    loMbit, hiMbit, hiMbit / loMbit, TrafficControl.rate("eth0", lo.initPid()).orElse(-1L),
                    TrafficControl.rate("eth0", hi.initPid()).orElse(-1L));
            String clients = "lo-get " + fx.runtime.inspect("lo-get").state() + " " + fx.stderr("lo-get") + "; hi-get "
                    + fx.runtime.inspect("hi-get").state() + " " + fx.stderr("hi-get") + "; audits " + audits;
            assertThat(hiMbit / loMbit).as("hi : lo; " + clients).isBetween(2.4, 3.6);
            assertThat(loMbit + hiMbit).as("total Mbit/s through the shared 16mbit").isBetween(12.8, 19.2);
            assertThat(audits).anySatisfy(e -> {
                assertThat(e.name()).isEqualTo("hi");
                assertThat(e.attributes()).containsEntry("policy", "networkFairness")
                        .containsEntry("action", "set-network-rate").containsEntry("dryRun", false);
            });
        } finally {
            loop.close();
        }
    }
}

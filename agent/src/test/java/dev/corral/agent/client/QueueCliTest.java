package dev.corral.agent.client;

import static dev.corral.exporter.testing.Await.await;
import static dev.corral.agent.testing.TestRoots.HOST_FLAG;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What a CLI user sees of the admission queue, against a real agent whose policy queues starts that do not fit:
 * {@code run} says the container is queued and waits for it, {@code start} says so and returns, {@code ps} shows
 * it, a refusal at the queue timeout fails the run with the reason and leaves nothing behind.
 */
@Tag("root")
class QueueCliTest {

    /** Class big guarantees 1.5 of the host's cores: two of them do not fit on this machine's 2. */
    private static final String POLICY = ("{'classes':[{'name':'big','guarantees':{'cpu':1.5},"
            + "'selector':{'labels':{'size':'big'}}}],'policies':{'cpuFairness':{'enabled':false},"
            + "'memoryPressure':{'enabled':false},'oomProtection':{'enabled':false},'ioFairness':{'enabled':false},"
            + "'admission':{'onOvercommit':'queue','queueTimeout':'3s'}}}").replace('\'', '"');

    private ClientAgentFixture fx;

    @BeforeEach
    void start() throws Exception {
        fx = new ClientAgentFixture(POLICY);
        Cli.environment(Map.of("CORRAL_HOST", fx.host()));
    }

    @AfterEach
    void stop() throws Exception {
        Cli.realEnvironment();
        fx.close();
    }

    @Test
    void anAttachedRunSaysItIsQueuedWaitsAndRunsOnceTheRoomIsFree() throws Exception {
        Cli.ok("run", HOST_FLAG, "-d", "--name", "first", "--label", "size=big", "sleep", "600");
        CompletableFuture<Cli.Result> second = CompletableFuture.supplyAsync(() ->
                Cli.run("run", HOST_FLAG, "--name", "second", "--label", "size=big", "sh", "-c", "echo second ran; exit 4"));
        await(() -> Cli.ok("ps").out().contains("Queued"), Duration.ofSeconds(10), "second shows as queued in ps");
        assertThat(second).isNotDone();
        Cli.ok("rm", "-f", "first");
        Cli.Result r = second.get(20, TimeUnit.SECONDS);
        assertThat(r.code()).as(r.toString()).isEqualTo(4);
        assertThat(r.out()).isEqualTo("second ran\n");
        assertThat(r.errLines()).singleElement().asString().startsWith("corral: second is queued: queued 'second': "
                + "its guaranteed cpu (1.50 cores)").contains("waiting; Ctrl-C removes it from the queue");
    }

    @Test
    void aRunRefusedAtTheQueueTimeoutFailsWithTheReasonAndLeavesNothingBehind() throws Exception {
        Cli.ok("run", HOST_FLAG, "-d", "--name", "first", "--label", "size=big", "sleep", "600");
        Cli.Result r = Cli.run("run", HOST_FLAG, "--name", "late", "--label", "size=big", "true");
        assertThat(r.code()).as(r.toString()).isEqualTo(125); // docker run's code for a run that failed before its command ran
        assertThat(r.errLines()).hasSize(2);
        assertThat(r.errLines().get(1)).startsWith("corral: admission refused for 'late': still queued after 3s")
                .contains("guaranteed cpu");
        assertThat(Cli.ok("ps", "-a", "-q").out()).isEqualTo("first\n");
    }

    @Test
    void startAndDetachedRunReportTheQueueAndReturn() throws Exception {
        Cli.ok("run", HOST_FLAG, "-d", "--name", "first", "--label", "size=big", "sleep", "600");
        Cli.Result d = Cli.ok("run", HOST_FLAG, "-d", "--name", "second", "--label", "size=big", "sleep", "600");
        assertThat(d.out()).isEqualTo("second\n");
        assertThat(d.err()).startsWith("corral: second is queued: queued 'second': its guaranteed cpu");
        // refused at its timeout: created again, shown as not admitted; start queues it again
        await(() -> Cli.ok("ps", "-a").out().contains("Created (not admitted)"), Duration.ofSeconds(15),
                "refused after 3 s");
        Cli.Result s = Cli.ok("start", "second");
        assertThat(s.out()).isEqualTo("second\n");
        assertThat(s.err()).startsWith("corral: second is queued: ");
        assertThat(Cli.ok("ps", "--format", "json").out()).contains("\"queued\"");
    }
}

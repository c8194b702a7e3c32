package dev.corral.agent.runtime;

import static dev.corral.agent.testing.TestRoots.HOST;
import static dev.corral.exporter.testing.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Restart policies on the real kernel: each run of the container is a line in its log (the log is appended to
 * across restarts), each restart an event and a count in the record.
 */
@Tag("root")
@Tag("guest") // also in the v2 guest: an OOM kill under on-failure, a restart after the agent restarted
class RestartPolicyTest {

    private RuntimeFixture fx;
    private final List<ContainerEvent> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture();
        fx.runtime.addListener(events::add);
    }

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    private long runs(String name) throws Exception {
        return fx.stdout(name).lines().filter("run"::equals).count();
    }

    private long restartEvents(String name) {
        return events.stream().filter(e -> e.type() == ContainerEvent.Type.RESTART && e.name().equals(name)).count();
    }

    @Test
    void onFailureWithAMaximumRestartsExactlyThatOftenThenStaysExited() throws Exception {
        fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'fails','command':['sh','-c','echo run; exit 3'],"
                + "'restartPolicy':{'name':'on-failure','maximumRetryCount':2}}"));
        await(() -> runs("fails") == 3 && fx.runtime.inspect("fails").state() == ContainerState.EXITED
                && fx.runtime.inspect("fails").restarts() == 2, Duration.ofSeconds(20), "three runs");
        Thread.sleep(1500); // the backoff after the second restart was 200 ms: a third would have come by now
        ContainerRecord r = fx.runtime.inspect("fails");
        assertThat(r.state()).isEqualTo(ContainerState.EXITED);
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.restartCount()).isEqualTo(2);
        assertThat(runs("fails")).isEqualTo(3);
        assertThat(restartEvents("fails")).isEqualTo(2);
        assertThat(events.stream().filter(e -> e.type() == ContainerEvent.Type.RESTART).map(e -> e.attributes()
                .get("restartCount")).toList()).containsExactly(1, 2);
    }

    @Test
    void theRunsAreApartByTheBackoffDoublingFrom100Ms() throws Exception {
        // each run prints its start time; from one exit to the next start is at least the backoff (RestartBackoffTest
        // has the arithmetic, this the wiring): without it the runs would be a container start apart, ~10-30 ms
        fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'backoff','command':['sh','-c','date +%s%N; exit 1'],"
                + "'restartPolicy':{'name':'on-failure','maximumRetryCount':3}}"));
        await(() -> fx.stdout("backoff").lines().count() == 4 && fx.runtime.inspect("backoff").state()
                == ContainerState.EXITED, Duration.ofSeconds(20), "four runs");
        List<Long> starts = fx.stdout("backoff").lines().map(Long::parseLong).toList();
        for (int i = 1; i < 4; i++) {
            long gapMillis = (starts.get(i) - starts.get(i - 1)) / 1_000_000;
            assertThat(gapMillis).as("run %d began %d ms after run %d", i + 1, gapMillis, i)
                    .isGreaterThanOrEqualTo(100L << (i - 1));
        }
    }

    @Test
    void onFailureLeavesASuccessfulExitAlone() throws Exception {
        ContainerRecord r = fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'fine','command':['sh','-c',"
                + "'echo run; exit 0'],'restartPolicy':{'name':'on-failure'}}"));
        fx.runtime.waitFor(r.name()).get(10, TimeUnit.SECONDS);
        Thread.sleep(1000);
        assertThat(runs("fine")).isEqualTo(1);
        assertThat(fx.runtime.inspect("fine").restartCount()).isNull();
    }

    @Test
    void alwaysRestartsAfterEachExitAndAStopEndsItForGood() throws Exception {
        fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'loop','command':['sh','-c','echo run; sleep 0.3'],"
                + "'restartPolicy':{'name':'always'}}"));
        await(() -> runs("loop") >= 3, Duration.ofSeconds(20), "two restarts after clean exits");
        ContainerRecord stopped = fx.runtime.stop("loop", Duration.ofSeconds(5));
        assertThat(stopped.state()).isEqualTo(ContainerState.EXITED);
        assertThat(stopped.stopped()).isTrue();
        long runsAtStop = runs("loop");
        int countAtStop = fx.runtime.inspect("loop").restarts();
        Thread.sleep(3000); // longer than any backoff it reached
        assertThat(fx.runtime.inspect("loop").state()).isEqualTo(ContainerState.EXITED);
        assertThat(runs("loop")).isEqualTo(runsAtStop);
        assertThat(fx.runtime.inspect("loop").restarts()).isEqualTo(countAtStop);
        // a start by the user: running again, the count begins anew, and the policy applies again
        fx.runtime.start("loop");
        await(() -> fx.runtime.inspect("loop").restarts() >= 1, Duration.ofSeconds(10), "restarted after a start");
        fx.runtime.stop("loop", Duration.ofSeconds(5));
    }

    @Test
    void anOomKilledContainerRestartsUnderOnFailure() throws Exception {
        fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'hog','command':['sh','-c','echo run; "
                + "exec dd if=/dev/zero of=/dev/null bs=128M count=1'],'limits':{'memory':{'max':'64m'"
                + (fx.runtime.driver().supportsMemoryHigh() ? ",'swap':0" : "") + "}},"
                + "'restartPolicy':{'name':'on-failure','maximumRetryCount':1}}"));
        // the record is saved as exited before its oom and exited events are sent: wait for the events too
        await(() -> runs("hog") == 2 && fx.runtime.inspect("hog").state() == ContainerState.EXITED
                && events.stream().filter(e -> e.type() == ContainerEvent.Type.OOM).count() == 2,
                Duration.ofSeconds(60), "the OOM-killed container ran again, once, and both OOM kills were events");
        ContainerRecord r = fx.runtime.inspect("hog");
        assertThat(r.oomKilled()).isTrue();
        assertThat(r.exitCode()).isEqualTo(137);
        assertThat(r.restartCount()).isEqualTo(1);
    }

    @Test
    void anAlwaysContainerKilledWhileTheAgentIsDownRunsAgainWhenItStarts() throws Exception {
        ContainerRecord first = fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'keep','command':['sh','-c',"
                + "'echo run; exec sleep 600'],'restartPolicy':{'name':'always'}}"));
        ContainerRecord stoppedOne = fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'stopped',"
                + "'command':['sleep','600'],'restartPolicy':{'name':'always'}}"));
        fx.runtime.stop(stoppedOne.name(), Duration.ofSeconds(5));
        fx.runtime.close(); // the agent is gone
        fx.runtime.driver().open("keep").killAll(); // and its container dies meanwhile
        Path exitFile = fx.stateDir.resolve("containers/keep/exit.json");
        await(() -> Files.exists(exitFile), Duration.ofSeconds(10), "the monitor recorded the exit");
        ContainerRuntime again = fx.restart();
        await(() -> again.inspect("keep").state() == ContainerState.RUNNING && runs("keep") == 2,
                Duration.ofSeconds(20), "keep runs again");
        ContainerRecord r = again.inspect("keep");
        assertThat(r.initPid()).isNotEqualTo(first.initPid());
        assertThat(r.restartCount()).isEqualTo(1);
        assertThat(ProcessInfo.startTicks(r.initPid())).isPositive();
        Thread.sleep(1000);
        assertThat(again.inspect("stopped").state()).as("a stop is never undone, also not at the agent's start")
                .isEqualTo(ContainerState.EXITED);
    }

    @Test
    void theStopTimeoutIsTheGraceUnlessTheStopGivesOne() throws Exception {
        // sleep as PID 1 ignores SIGTERM: only the SIGKILL after the grace ends it
        fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'slow','command':['sleep','600'],'stopTimeout':1}"));
        long t0 = System.nanoTime();
        ContainerRecord r = fx.runtime.stop("slow", null);
        double took = (System.nanoTime() - t0) / 1e9;
        assertThat(r.signal()).isEqualTo(9);
        assertThat(took).isBetween(0.9, 8.0); // not the default 10 s
        // a zero grace given to the stop wins over the container's 30 s: far apart, so a loaded host or the
        // emulated guest cannot blur them (a 1 s timeout against "under 0.9 s" could)
        fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'slower','command':['sleep','600'],'stopTimeout':30}"));
        t0 = System.nanoTime();
        assertThat(fx.runtime.stop("slower", Duration.ZERO).signal()).isEqualTo(9);
        assertThat((System.nanoTime() - t0) / 1e9).isLessThan(10.0);
    }

    @Test
    void whileTheBackoffRunsItIsRestartingThenRunsAgain() throws Exception {
        // quick failures: the backoff doubles (100, 200, 400, 800 ms...), long enough to be seen between runs
        fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'waits','command':['sh','-c','echo run; exit 2'],"
                + "'restartPolicy':{'name':'on-failure','maximumRetryCount':6}}"));
        boolean seen = false;
        for (long end = System.nanoTime() + 30_000_000_000L; !seen && System.nanoTime() < end; ) {
            ContainerRecord r = fx.runtime.inspect("waits");
            // exited, its policy's restart pending: restarting (Docker's State.Restarting), never while running
            seen = fx.runtime.isRestarting("waits") && r.state() == ContainerState.EXITED && r.exitCode() == 2;
            Thread.sleep(20);
        }
        assertThat(seen).as("seen restarting between runs").isTrue();
        await(() -> fx.runtime.inspect("waits").restarts() == 6 && fx.runtime.inspect("waits").state()
                == ContainerState.EXITED && !fx.runtime.isRestarting("waits"), Duration.ofSeconds(30),
                "the last run over and no restart pending");
        assertThat(runs("waits")).isEqualTo(7);
    }

    @Test
    void theBackoffBeginsAgainAfterARunOfTenSeconds() throws Exception {
        // each run counts itself in a file of the test's; the fourth runs 10.5 s, the others fail at once
        Path dir = Files.createTempDirectory("corral-backoff-reset-");
        try {
            fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'resets','command':['sh','-c',"
                    + "'n=$(($(cat /mnt/n 2>/dev/null || echo 0)+1)); echo $n > /mnt/n; echo run; "
                    + "[ $n = 4 ] && sleep 10.5; exit 1'],"
                    + "'mounts':[{'type':'bind','source':'" + dir + "','target':'/mnt','readOnly':false}],"
                    + "'restartPolicy':{'name':'on-failure','maximumRetryCount':4}}"));
            await(() -> restartEvents("resets") == 4 && runs("resets") == 5
                    && fx.runtime.inspect("resets").state() == ContainerState.EXITED, Duration.ofSeconds(40),
                    "five runs");
            // 100, 200, 400 ms after quick exits; after the run of 10.5 s 100 ms again (not 800), as Docker's
            assertThat(events.stream()
                    .filter(e -> e.type() == ContainerEvent.Type.RESTART && e.name().equals("resets"))
                    .map(e -> ((Number) e.attributes().get("delayMillis")).longValue()).toList())
                    .containsExactly(100L, 200L, 400L, 100L);
        } finally {
            dev.corral.agent.image.Trees.delete(dir);
        }
    }

    @Test
    void unlessStoppedComesBackWithTheAgentUnlessTheUserStoppedIt() throws Exception {
        ContainerRecord first = fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'kept','command':['sh','-c',"
                + "'echo run; exec sleep 600'],'restartPolicy':{'name':'unless-stopped'}}"));
        fx.runtime.run(RuntimeFixture.spec("{" + HOST + "'name':'userstopped','command':['sh','-c',"
                + "'echo run; exec sleep 600'],'restartPolicy':{'name':'unless-stopped'}}"));
        fx.runtime.stop("userstopped", Duration.ofSeconds(5));
        fx.runtime.close(); // the agent is gone
        fx.runtime.driver().open("kept").killAll(); // and the running one dies meanwhile
        Path exitFile = fx.stateDir.resolve("containers/kept/exit.json");
        await(() -> Files.exists(exitFile), Duration.ofSeconds(10), "the monitor recorded the exit");
        ContainerRuntime again = fx.restart();
        await(() -> again.inspect("kept").state() == ContainerState.RUNNING && runs("kept") == 2,
                Duration.ofSeconds(20), "kept runs again");
        assertThat(again.inspect("kept").initPid()).isNotEqualTo(first.initPid());
        assertThat(ProcessInfo.startTicks(again.inspect("kept").initPid())).isPositive();
        Thread.sleep(1500); // a restart at the agent's start has no backoff: it would have come by now
        ContainerRecord stopped = again.inspect("userstopped");
        assertThat(stopped.state()).as("stopped by the user before the agent went: stays stopped")
                .isEqualTo(ContainerState.EXITED);
        assertThat(runs("userstopped")).isEqualTo(1);
        assertThat(again.isRestarting("userstopped")).isFalse();
    }
}

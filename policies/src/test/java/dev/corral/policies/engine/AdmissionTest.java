package dev.corral.policies.engine;

import static dev.corral.policies.engine.Recorded.GIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.corral.exporter.sample.Limits;
import dev.corral.policies.file.PolicyLoader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class AdmissionTest {

    static final String POLICY = "{'classes':[{'name':'big','guarantees':{'cpu':1.5,'memory':'4g'},"
            + "'selector':{'labels':{'size':'big'}}}],'policies':{'admission':{'cpuOvercommit':1.0,"
            + "'memoryFraction':0.5}}}";
    static final HostView HOST = new HostView(2, 16 * GIB, 8 * GIB, false, "/corral");

    private static PolicyEngine engine(boolean dryRun) throws Exception {
        return new PolicyEngine(PolicyLoader.parse("a.json", POLICY.replace('\'', '"')
                .getBytes(StandardCharsets.UTF_8)), dryRun);
    }

    private static ContainerView view(String name, Map<String, String> labels, long reservation) {
        return new ContainerView(name, "/corral/" + name, labels, new ContainerView.Baseline(Limits.UNLIMITED,
                100_000, 0, Limits.UNLIMITED, Limits.UNLIMITED, reservation, Map.of()));
    }

    @Test
    void aStartThatWouldOvercommitGuaranteedCpuIsRefusedNamingCpu() throws Exception {
        ContainerView one = view("one", Map.of("size", "big"), 0);
        Admission first = engine(false).admit(1, one, List.of(), HOST);
        assertThat(first.admitted()).isTrue();
        assertThat(first.dominantShare()).isCloseTo(0.75, within(1e-9)); // 1.5 of 2 cores > 4 of 16 GiB
        Admission second = engine(false).admit(2, view("two", Map.of("size", "big"), 0), List.of(one), HOST);
        assertThat(second.admitted()).isFalse();
        assertThat(second.resource()).isEqualTo("cpu");
        assertThat(second.message()).contains("'two'").contains("guaranteed cpu").contains("3.00 cores")
                .contains("2.00 cores");
        assertThat(second.audit().action()).isEqualTo("refuse");
        assertThat(second.audit().reason()).isEqualTo("cpu-overcommitted");
    }

    @Test
    void memoryGuaranteesIncludeTheSpecsReservationAndAreRefusedNamingMemory() throws Exception {
        ContainerView a = view("a", Map.of(), 5 * GIB); // default class: no cpu guarantee
        Admission r = engine(false).admit(1, view("b", Map.of(), 4 * GIB), List.of(a), HOST);
        assertThat(r.admitted()).isFalse();
        assertThat(r.resource()).isEqualTo("memory");
        assertThat(r.message()).contains("guaranteed memory").contains("9216.0MiB").contains("8192.0MiB");
        // the same container restarting does not count against itself
        assertThat(engine(false).admit(1, a, List.of(a), HOST).admitted()).isTrue();
    }

    @Test
    void aDryRunRecordsTheRefusalButAdmits() throws Exception {
        ContainerView one = view("one", Map.of("size", "big"), 0);
        Admission r = engine(true).admit(2, view("two", Map.of("size", "big"), 0), List.of(one), HOST);
        assertThat(r.admitted()).isTrue();
        assertThat(r.audit().dryRun()).isTrue();
        assertThat(r.audit().action()).isEqualTo("refuse");
    }

    // ---- queueing ----------------------------------------------------------------------------------------

    static final String QUEUE = "{'classes':[{'name':'urgent','priority':50,'guarantees':{'cpu':1.5},"
            + "'selector':{'labels':{'tier':'urgent'}}},{'name':'big','priority':10,'guarantees':{'cpu':1.5},"
            + "'selector':{'labels':{'size':'big'}}},{'name':'small','priority':10,'guarantees':{'cpu':0.25},"
            + "'selector':{'labels':{'size':'small'}}}],"
            + "'policies':{'admission':{'onOvercommit':'queue','queueTimeout':'2m'}}}";

    private static PolicyEngine queueing(boolean dryRun) throws Exception {
        return new PolicyEngine(PolicyLoader.parse("q.json", QUEUE.replace('\'', '"')
                .getBytes(StandardCharsets.UTF_8)), dryRun);
    }

    private static ContainerView sized(String name, String size) {
        return view(name, size.equals("urgent") ? Map.of("tier", "urgent") : Map.of("size", size), 0);
    }

    @Test
    void anOvercommittingStartIsQueuedNamingTheResourceWithADeadline() throws Exception {
        PolicyEngine e = queueing(false);
        ContainerView running = sized("a", "big");
        Admission q = e.admit(10_000, sized("b", "big"), null, List.of(running), List.of(), HOST);
        assertThat(q.outcome()).isEqualTo(Admission.Outcome.QUEUE);
        assertThat(q.resource()).isEqualTo("cpu");
        assertThat(q.message()).contains("queued 'b'").contains("guaranteed cpu").contains("3.00 cores")
                .contains("refused after 2m");
        assertThat(q.deadlineMillis()).isEqualTo(10_000 + 120_000);
        assertThat(q.audit().action()).isEqualTo("queue");
        assertThat(q.audit().reason()).isEqualTo("cpu-overcommitted");
        assertThat(q.audit().after()).isEqualTo("queued");

        // Re-checked while a still runs: it waits, and that changes nothing worth a record.
        Queued self = new Queued(sized("b", "big"), 10_000, q.deadlineMillis());
        Admission still = e.admit(20_000, self.view(), self, List.of(running), List.of(), HOST);
        assertThat(still.outcome()).isEqualTo(Admission.Outcome.QUEUE);
        assertThat(still.audit()).isNull();
        // a exited: it fits now and leaves the queue.
        Admission in = e.admit(30_000, self.view(), self, List.of(), List.of(), HOST);
        assertThat(in.outcome()).isEqualTo(Admission.Outcome.ADMIT);
        assertThat(in.audit().action()).isEqualTo("dequeue");
        assertThat(in.audit().before()).isEqualTo("queued");
        assertThat(in.audit().inputs()).containsEntry("queuedForMillis", 20_000L);
    }

    @Test
    void aStartThatWouldQueueBehindMaxQueuedWaitingContainersIsRefusedAndTheWaitingOnesKeepTheirPlace()
            throws Exception {
        PolicyEngine e = new PolicyEngine(PolicyLoader.parse("q.json", QUEUE.replace("'queueTimeout':'2m'",
                "'queueTimeout':'2m','maxQueued':2").replace('\'', '"').getBytes(StandardCharsets.UTF_8)), false);
        ContainerView running = sized("a", "big");
        Queued b = new Queued(sized("b", "big"), 1_000, 200_000);
        Queued c = new Queued(sized("c", "big"), 2_000, 200_000);
        Admission full = e.admit(5_000, sized("d", "big"), null, List.of(running), List.of(b, c), HOST);
        assertThat(full.outcome()).isEqualTo(Admission.Outcome.REFUSE);
        assertThat(full.message()).contains("'d'").contains("guaranteed cpu")
                .contains("the admission queue is full (2 waiting, maxQueued 2)");
        assertThat(full.audit().action()).isEqualTo("refuse");
        assertThat(full.audit().reason()).isEqualTo("queue-full");
        // one fewer waiting: it queues
        assertThat(e.admit(5_000, sized("d", "big"), null, List.of(running), List.of(b), HOST).outcome())
                .isEqualTo(Admission.Outcome.QUEUE);
        // those already queued are re-checked as before, and a start that fits is not held back by a full queue
        assertThat(e.admit(5_000, c.view(), c, List.of(running), List.of(b), HOST).outcome())
                .isEqualTo(Admission.Outcome.QUEUE);
        ContainerView urgentSmall = view("u", Map.of("tier", "urgent"), 0);
        assertThat(e.admit(5_000, urgentSmall, null, List.of(), List.of(b, c), HOST).admitted()).isTrue();
    }

    @Test
    void theQueueIsOrderedByPriorityThenArrivalAndOnlyItsHeadMayStart() throws Exception {
        PolicyEngine e = queueing(false);
        Queued big1 = new Queued(sized("big1", "big"), 1_000, 200_000);
        Queued small = new Queued(sized("small", "small"), 2_000, 200_000);
        Queued big2 = new Queued(sized("big2", "big"), 3_000, 200_000);
        Queued urgent = new Queued(sized("urg", "urgent"), 4_000, 200_000);
        assertThat(e.queueOrder(List.of(big2, small, urgent, big1))).extracting(q -> q.view().name())
                .containsExactly("urg", "big1", "small", "big2");

        ContainerView running = sized("a", "big"); // 1.5 of 2 cores guaranteed
        // small would fit (0.25 core) but big1 came first at the same priority: it waits behind it
        Admission s = e.admit(5_000, small.view(), small, List.of(running), List.of(big1, big2, urgent), HOST);
        assertThat(s.outcome()).isEqualTo(Admission.Outcome.QUEUE);
        // a new small start queues behind them too, with a reason saying so
        Admission n = e.admit(5_000, sized("late", "small"), null, List.of(running),
                List.of(big1, small, big2), HOST);
        assertThat(n.outcome()).isEqualTo(Admission.Outcome.QUEUE);
        assertThat(n.resource()).isNull();
        assertThat(n.audit().reason()).isEqualTo("queued-ahead");
        assertThat(n.message()).contains("3 containers of priority 10 or higher are queued ahead of it");
        // a higher-priority start that fits is not held back by a lower-priority queue
        ContainerView urgentSmall = view("u2", Map.of("tier", "urgent"), 0);
        Admission u = e.admit(5_000, urgentSmall, null, List.of(), List.of(big1, small, big2), HOST);
        assertThat(u.outcome()).isEqualTo(Admission.Outcome.ADMIT);
        assertThat(u.audit().action()).isEqualTo("admit");
        // with nothing running, the head (urgent) starts, then big1; small still waits behind big1
        assertThat(e.admit(6_000, urgent.view(), urgent, List.of(), List.of(big1, small, big2), HOST).admitted())
                .isTrue();
        assertThat(e.admit(6_000, big1.view(), big1, List.of(urgent.view()), List.of(small, big2), HOST).outcome())
                .isEqualTo(Admission.Outcome.QUEUE);
    }

    @Test
    void aQueuedContainerIsRefusedAtItsDeadlineNamingTheResource() throws Exception {
        PolicyEngine e = queueing(false);
        Queued b = new Queued(sized("b", "big"), 1_000, 121_000);
        Admission before = e.admit(120_999, b.view(), b, List.of(sized("a", "big")), List.of(), HOST);
        assertThat(before.outcome()).isEqualTo(Admission.Outcome.QUEUE);
        Admission t = e.admit(121_000, b.view(), b, List.of(sized("a", "big")), List.of(), HOST);
        assertThat(t.outcome()).isEqualTo(Admission.Outcome.REFUSE);
        assertThat(t.resource()).isEqualTo("cpu");
        assertThat(t.message()).contains("'b'").contains("still queued after 2m").contains("guaranteed cpu");
        assertThat(t.audit().action()).isEqualTo("timeout");
        assertThat(t.audit().reason()).isEqualTo("queue-timeout");
        assertThat(t.audit().before() + " -> " + t.audit().after()).isEqualTo("queued -> refused");
        // at its deadline, one that fits still starts
        assertThat(e.admit(121_000, b.view(), b, List.of(), List.of(), HOST).admitted()).isTrue();
    }

    @Test
    void aDryRunRecordsTheQueueingButStarts() throws Exception {
        Admission r = queueing(true).admit(1, sized("b", "big"), null, List.of(sized("a", "big")), List.of(), HOST);
        assertThat(r.admitted()).isTrue();
        assertThat(r.audit().action()).isEqualTo("queue");
        assertThat(r.audit().dryRun()).isTrue();
        assertThat(r.audit().after()).isEqualTo("started");
    }

    @Test
    void afterAReloadToRefuseTheContainersStillQueuedAreAdmittedOrRefusedEachOnItsOwn() throws Exception {
        PolicyEngine refuse = new PolicyEngine(PolicyLoader.parse("r.json", QUEUE.replace("'queue'", "'refuse'")
                .replace('\'', '"').getBytes(StandardCharsets.UTF_8)), false);
        Queued big = new Queued(sized("big1", "big"), 1_000, 500_000);
        Queued small = new Queued(sized("small", "small"), 2_000, 500_000);
        List<ContainerView> running = List.of(sized("a", "big"));
        Admission b = refuse.admit(3_000, big.view(), big, running, List.of(small), HOST);
        assertThat(b.outcome()).isEqualTo(Admission.Outcome.REFUSE);
        assertThat(b.audit().action()).isEqualTo("refuse");
        assertThat(b.audit().before()).isEqualTo("queued");
        assertThat(refuse.admit(3_000, small.view(), small, running, List.of(big), HOST).admitted()).isTrue();
        assertThat(b.message()).contains("admission refused for 'big1'").contains("guaranteed cpu");
    }
}

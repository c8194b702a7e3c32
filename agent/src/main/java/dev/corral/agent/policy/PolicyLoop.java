package dev.corral.agent.policy;

import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.runtime.AdmissionGate;
import dev.corral.agent.runtime.ContainerEvent;
import dev.corral.agent.ContainerException;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.runtime.ContainerState;
import dev.corral.exporter.collect.CollectorListener;
import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.discovery.CgroupMode;
import dev.corral.exporter.metrics.MachineInfo;
import dev.corral.policies.engine.Action;
import dev.corral.policies.engine.Admission;
import dev.corral.policies.engine.Audit;
import dev.corral.policies.engine.ContainerView;
import dev.corral.policies.engine.Decision;
import dev.corral.policies.engine.HostView;
import dev.corral.policies.engine.Observation;
import dev.corral.policies.engine.PolicyEngine;
import dev.corral.policies.engine.Queued;
import dev.corral.policies.file.Policy;
import dev.corral.policies.file.PolicyException;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Observe → decide → act. Each snapshot the exporter publishes is handed to one policy thread (never the
 * collector's thread, never the event loop): it checks the policy file for changes, asks the engine, applies
 * the actions through the cgroup drivers and the runtime, and publishes each audit record as a {@code policy}
 * event and in metrics. While a cycle runs the next snapshot waits, and ones after it are skipped (rates are
 * computed over whatever interval passed). Also the runtime's admission gate, and the keeper of its queue: the
 * queue is re-checked on this thread every cycle (timeouts), after an exit or removal, and after a reload.
 */
public final class PolicyLoop implements CollectorListener, AdmissionGate, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PolicyLoop.class);

    private final ContainerRuntime runtime;
    private final PolicySource source;
    private final boolean dryRunFlag;
    private final HostSampler sampler;
    private final MachineInfo machine;
    private final boolean v2;
    private final PolicyActions actions;
    private final PolicyMetrics metrics;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "corral-policy");
        t.setDaemon(true);
        return t;
    });
    private final AtomicBoolean queued = new AtomicBoolean();
    private volatile PolicyEngine engine;
    private Snapshot previous;

    private PolicyLoop(ContainerRuntime runtime, PolicySource source, Policy policy, boolean dryRun,
                       Path procRoot, MeterRegistry registry) throws java.io.IOException {
        this.runtime = runtime;
        this.source = source;
        this.dryRunFlag = dryRun;
        this.sampler = new HostSampler(procRoot);
        this.machine = MachineInfo.read(procRoot);
        this.v2 = runtime.driver().layout().mode() == CgroupMode.V2;
        this.actions = new PolicyActions(runtime);
        this.metrics = new PolicyMetrics(registry);
        this.engine = new PolicyEngine(policy, dryRun);
    }

    /** Loads the policy (a bad file fails here, before the agent serves) and starts deciding. */
    public static PolicyLoop start(ContainerRuntime runtime, PolicySource source, boolean dryRun, Path procRoot,
                                   MeterRegistry registry) throws PolicyException, java.io.IOException {
        PolicyLoop loop = new PolicyLoop(runtime, source, source.load(), dryRun, procRoot, registry);
        runtime.setAdmissionGate(loop);
        runtime.addListener(e -> {
            if (e.type().equals("exited") || e.type().equals("removed")) {
                loop.reviewSoon(); // guarantees freed up: the head of the queue may fit now
            }
        });
        loop.reviewSoon(); // containers queued before a restart
        LOG.info("policy {} loaded{}", source.describe(), loop.engine.dryRun() ? " (dry run: nothing is applied)" : "");
        return loop;
    }

    public Policy policy() {
        return engine.policy();
    }

    /** Where the policy comes from (the web page's policy view). */
    public String source() {
        return source.describe();
    }

    public boolean dryRun() {
        return engine.dryRun();
    }

    @Override
    public void collected(Snapshot before, Snapshot current) {
        if (queued.compareAndSet(false, true)) {
            try {
                thread.execute(() -> {
                    queued.set(false);
                    try {
                        cycle(current);
                    } catch (RuntimeException e) {
                        LOG.warn("policy cycle failed", e);
                    }
                });
            } catch (RejectedExecutionException closed) {
                // the agent is closing: the collector may still publish a last snapshot after this loop stopped
            }
        }
    }

    private void cycle(Snapshot current) {
        reload();
        Snapshot now = sampler.withRoot(current);
        Snapshot before = previous;
        previous = now;
        if (before == null) {
            return;
        }
        List<ContainerRecord> records;
        try {
            records = runtime.list();
        } catch (ContainerException e) {
            LOG.warn("policy cycle skipped: {}", e.getMessage());
            return;
        }
        reviewQueue(records); // every cycle: queue timeouts are due at most an interval late
        List<ContainerView> views = records.stream().filter(r -> r.state() == ContainerState.RUNNING)
                .map(ContainerViews::of).toList();
        PolicyEngine e = engine;
        var net = e.policy().policies().networkFairness();
        Decision d = e.decide(new Observation(now.timestampMillis(), before, now, views, host(),
                net.enabled() && net.capacity() > 0 ? NetworkRates.sample(runtime, records) : Map.of()));
        for (Action a : d.actions()) {
            String error = null;
            if (!a.audit().dryRun()) {
                try {
                    actions.apply(a);
                } catch (Exception ex) {
                    error = ex.getMessage();
                    if (ex instanceof CgroupException.Busy) {
                        e.refused(a, now.timestampMillis());
                    }
                    LOG.warn("{} {} on {} failed: {}", a.audit().policy(), a.audit().action(), a.container(), error);
                }
            }
            publish(a.audit(), error);
        }
        metrics.shares(d, runtime::nameOfCgroup);
    }

    private HostView host() {
        return new HostView(machine.cpuCores(), machine.memoryBytes(), sampler.memoryAvailable(), v2,
                runtime.driver().parent());
    }

    private void reload() {
        try {
            Optional<Policy> p = source.reloadIfChanged();
            if (p.isPresent()) {
                engine = new PolicyEngine(p.get(), dryRunFlag);
                LOG.info("policy {} reloaded", source.describe());
                runtime.publish(new ContainerEvent("policy-loaded", "", System.currentTimeMillis(),
                        Map.of("file", source.describe(), "dryRun", engine.dryRun())));
                reviewSoon(); // the new policy may admit (or no longer queue) what waits
            }
        } catch (PolicyException ex) {
            LOG.warn("policy file rejected, the previous policy stays: {}", ex.getMessage());
            runtime.publish(new ContainerEvent("policy-rejected", "", System.currentTimeMillis(),
                    Map.of("file", ex.file(), "path", ex.path(), "problem", ex.problem(), "error", ex.getMessage())));
        }
    }

    @Override
    public Verdict admit(ContainerRecord starting, List<ContainerRecord> running, List<ContainerRecord> queued)
            throws ContainerException {
        List<ContainerView> others = running.stream().map(ContainerViews::of).toList();
        Admission a = engine.admit(System.currentTimeMillis(), ContainerViews.of(starting), queueEntry(starting), others,
                queued.stream().map(PolicyLoop::queueEntry).toList(), host());
        if (a.audit() != null) {
            publish(a.audit(), null);
        }
        return switch (a.outcome()) {
            case ADMIT -> Verdict.ADMIT;
            case QUEUE -> Verdict.queue(a.deadlineMillis(), a.message());
            case REFUSE -> throw new ContainerException(ContainerException.Kind.CONFLICT, a.message());
        };
    }

    /** A queued record's place in the queue; null for any other state. */
    private static Queued queueEntry(ContainerRecord r) {
        return r.state() != ContainerState.QUEUED ? null : new Queued(ContainerViews.of(r),
                r.queuedAtMillis() == null ? r.createdAtMillis() : r.queuedAtMillis(),
                r.queueDeadlineMillis() == null ? Long.MAX_VALUE : r.queueDeadlineMillis());
    }

    /** Re-checks the queue soon, on the policy thread: room may have freed up (an exit, a removal). */
    private void reviewSoon() {
        try {
            thread.execute(() -> {
                try {
                    reviewQueue(runtime.list());
                } catch (ContainerException | RuntimeException e) {
                    LOG.warn("admission queue check failed", e);
                }
            });
        } catch (RejectedExecutionException closed) {
            // the agent is closing
        }
    }

    /**
     * Asks admission again for each queued container, in queue order: the head starts when it fits, one past its
     * deadline is refused. Each ask sees the starts before it.
     */
    private void reviewQueue(List<ContainerRecord> records) {
        List<Queued> queue = records.stream().map(PolicyLoop::queueEntry).filter(java.util.Objects::nonNull)
                .toList();
        for (Queued q : engine.queueOrder(queue)) {
            try {
                runtime.admitQueued(q.view().name());
            } catch (ContainerException | RuntimeException e) {
                LOG.warn("starting queued {} failed: {}", q.view().name(), e.getMessage());
            }
        }
    }

    private void publish(Audit a, String error) {
        metrics.counted(a);
        Map<String, Object> attributes = new LinkedHashMap<>();
        attributes.put("policy", a.policy());
        attributes.put("action", a.action());
        attributes.put("reason", a.reason());
        attributes.put("before", a.before());
        attributes.put("after", a.after());
        attributes.put("dryRun", a.dryRun());
        attributes.put("inputs", a.inputs());
        if (error != null) {
            attributes.put("error", error);
        }
        runtime.publish(new ContainerEvent("policy", a.container(), a.timeMillis(), attributes));
    }

    @Override
    public void close() {
        // The policy thread ends first: with the gate already open, a queue check still running would start
        // queued containers unchecked. Not interrupted at once: it may be writing a record.
        thread.shutdown();
        try {
            if (!thread.awaitTermination(5, TimeUnit.SECONDS)) {
                thread.shutdownNow();
                thread.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        runtime.setAdmissionGate(AdmissionGate.OPEN);
        sampler.close();
    }
}

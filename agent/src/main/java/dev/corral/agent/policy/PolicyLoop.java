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
 * computed over whatever interval passed). Also the runtime's admission gate: the engine decides each start and
 * the queue's order; the runtime's {@link dev.corral.agent.runtime.AdmissionQueue} keeps the queue, and this loop
 * asks it to re-check every cycle (queue timeouts) and after a reload.
 * Containers other runtimes started take part when a class selects them; a govern class's actions on them go
 * through {@link ForeignGovernor} (owners' values recorded, restored, never fought over).
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
    private final ForeignSource foreign;
    private final ForeignGovernor governor;
    /** The foreign containers of the last cycle, by cgroup: names and runtimes for the records. */
    private volatile Map<String, ForeignSource.Subject> foreignNow = Map.of();
    private volatile PolicyEngine engine;
    private Snapshot previous;

    private PolicyLoop(ContainerRuntime runtime, PolicySource source, Policy policy, boolean dryRun,
                       Path procRoot, MeterRegistry registry, ForeignSource foreign) throws java.io.IOException {
        this.runtime = runtime;
        this.foreign = foreign;
        this.source = source;
        this.dryRunFlag = dryRun;
        this.sampler = new HostSampler(procRoot);
        this.machine = MachineInfo.read(procRoot);
        this.v2 = runtime.driver().layout().mode() == CgroupMode.V2;
        this.actions = new PolicyActions(runtime);
        this.metrics = new PolicyMetrics(registry);
        this.engine = new PolicyEngine(policy, dryRun);
        this.governor = new ForeignGovernor(runtime.driver(), v2);
    }

    /** Loads the policy (a bad file fails here, before the agent serves) and starts deciding. */
    public static PolicyLoop start(ContainerRuntime runtime, PolicySource source, boolean dryRun, Path procRoot,
                                   MeterRegistry registry) throws PolicyException, java.io.IOException {
        return start(runtime, source, dryRun, procRoot, registry, ForeignSource.NONE);
    }

    /** As above, also deciding for the containers other runtimes started that a policy class selects. */
    public static PolicyLoop start(ContainerRuntime runtime, PolicySource source, boolean dryRun, Path procRoot,
                                   MeterRegistry registry, ForeignSource foreign)
            throws PolicyException, java.io.IOException {
        PolicyLoop loop = new PolicyLoop(runtime, source, source.load(), dryRun, procRoot, registry, foreign);
        runtime.admission().setGate(loop); // also reviews containers queued before a restart
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
        runtime.admission().review(); // every cycle: queue timeouts are due at most an interval late
        List<ContainerView> views = new java.util.ArrayList<>(records.stream()
                .filter(r -> r.state() == ContainerState.RUNNING).map(ContainerViews::of).toList());
        List<ForeignSource.Subject> others = foreign.list(now);
        Map<String, ForeignSource.Subject> byCgroup = new java.util.HashMap<>();
        others.forEach(s -> byCgroup.put(s.cgroup(), s));
        foreignNow = byCgroup;
        List<ContainerView> foreignViews = governor.views(others, now);
        views.addAll(foreignViews);
        PolicyEngine e = engine;
        var net = e.policy().policies().networkFairness();
        Decision d = e.decide(new Observation(now.timestampMillis(), before, now, views, host(),
                net.enabled() && net.capacity() > 0 ? NetworkRates.sample(runtime, records) : Map.of()));
        for (Action a : d.actions()) {
            String error = null;
            if (!a.audit().dryRun()) {
                try {
                    if (byCgroup.containsKey(a.cgroup()) && a.container().equals(a.cgroup())) {
                        if (!governor.apply(a)) {
                            continue; // the owner took this knob back: the back-off was recorded, never fight
                        }
                    } else {
                        actions.apply(a);
                    }
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
        // back-offs from what owners rewrote, and owners' values back where no govern class selects any more
        java.util.Set<String> governed = new java.util.HashSet<>();
        if (!e.dryRun()) {
            for (ContainerView v : foreignViews) {
                if (e.policy().classOf(v.subject()).map(c -> c.governs(true)).orElse(false)) {
                    governed.add(v.cgroup());
                }
            }
        }
        for (Audit a : governor.review(now.timestampMillis(), governed, now.live().keySet())) {
            publish(a, null);
        }
        metrics.shares(d, cgroup -> {
            ForeignSource.Subject s = byCgroup.get(cgroup);
            return s != null ? s.name() : runtime.nameOfCgroup(cgroup);
        });
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
                runtime.publish(ContainerEvent.now(ContainerEvent.Type.POLICY_LOADED, "",
                        Map.of("file", source.describe(), "dryRun", engine.dryRun())));
                runtime.admission().reviewSoon(); // the new policy may admit (or no longer queue) what waits
            }
        } catch (PolicyException ex) {
            LOG.warn("policy file rejected, the previous policy stays: {}", ex.getMessage());
            runtime.publish(ContainerEvent.now(ContainerEvent.Type.POLICY_REJECTED, "",
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

    /** The queue in the policy's order: class priority (highest first), then arrival. */
    @Override
    public List<ContainerRecord> order(List<ContainerRecord> queued) {
        Map<String, ContainerRecord> byName = new LinkedHashMap<>();
        queued.forEach(r -> byName.put(r.name(), r));
        return engine.queueOrder(queued.stream().map(PolicyLoop::queueEntry).filter(java.util.Objects::nonNull)
                .toList()).stream().map(q -> byName.get(q.view().name())).toList();
    }

    private void publish(Audit a, String error) {
        metrics.counted(a);
        Map<String, Object> attributes = new LinkedHashMap<>();
        ForeignSource.Subject other = foreignNow.get(a.container());
        if (other != null) { // a foreign container's record is keyed by its cgroup: say whose it is
            metrics.foreignCounted(a, other.runtime());
            attributes.put("runtime", other.runtime());
            attributes.put("name", other.name());
            attributes.put("image", other.image());
        }
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
        runtime.publish(new ContainerEvent(ContainerEvent.Type.POLICY, a.container(), a.timeMillis(), attributes));
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
        runtime.admission().setGate(AdmissionGate.OPEN); // after a queue review under way
        // the policy stops acting: what it changed on other runtimes' containers goes back to their owners
        try {
            for (Audit a : governor.releaseAll(System.currentTimeMillis())) {
                publish(a, null);
            }
        } catch (RuntimeException e) {
            LOG.warn("restoring owners' values failed", e);
        }
        sampler.close();
    }
}

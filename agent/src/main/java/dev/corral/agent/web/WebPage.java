package dev.corral.agent.web;

import dev.corral.agent.api.EventLog;
import dev.corral.agent.policy.PolicyLoop;
import dev.corral.agent.runtime.ContainerEvent;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.exporter.Exporter;
import dev.corral.exporter.collect.CollectorListener;
import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.metrics.ContainerNames;
import dev.corral.exporter.metrics.MachineInfo;
import dev.corral.exporter.sample.CgroupSample;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live web page's data (docs/api.md, "The web page"): on each snapshot the collector publishes it computes the
 * table's rows and the host's figures once, on a thread of its own (never the collector's, never the event loop),
 * records them in the bounded {@link History} and hands one encoded frame to {@link WebStreams}, whatever the number
 * of open pages. Read-only: it changes nothing.
 */
public final class WebPage implements CollectorListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WebPage.class);
    /** Points of each row's sparkline in the table. */
    static final int SPARK_POINTS = 60;

    final Vertx vertx;
    final Exporter exporter;
    final ContainerRuntime runtime; // null when the agent only observes
    final PolicyLoop policy; // null without a policy
    final EventLog events; // null without the runtime
    final long intervalMillis;
    final History history = new History();
    final WebStreams streams;
    private final MeterRegistry registry;
    private final ContainerNames names;
    private final HostReader host;
    private final MachineInfo machine;
    private final WorkerExecutor thread;
    private final AtomicBoolean queued = new AtomicBoolean();
    private final AtomicBoolean recordsChanged = new AtomicBoolean(true);
    private Map<String, ContainerRecord> records = Map.of(); // by cgroup; on the web thread only
    private double collectTotalMillis;
    private long collectCount;
    private JsonArray rows = new JsonArray(); // the last rows built; on the web thread only
    private List<RowInput> pendingRows; // the last frame's, when its rows were not built; on the web thread only
    private Map<String, JsonObject> sent = Map.of(); // the last frame's rows by cgroup; on the web thread only
    /** By cgroup: the sample its rates are measured from, and its last values (web thread only; see Rows). */
    private Map<String, CgroupSample> bases = Map.of();
    private Map<String, float[]> lastValues = Map.of();
    private volatile JsonObject hostNow = new JsonObject();
    volatile ContainerEvent lastLoaded;
    volatile ContainerEvent lastRejected;

    public WebPage(Vertx vertx, Exporter exporter, MeterRegistry registry, ContainerNames names,
                   ContainerRuntime runtime, EventLog events, PolicyLoop policy, long intervalMillis, Path procRoot)
            throws java.io.IOException {
        this.vertx = vertx;
        this.exporter = exporter;
        this.registry = registry;
        this.names = names;
        this.runtime = runtime;
        this.events = events;
        this.policy = policy;
        this.intervalMillis = intervalMillis;
        this.host = new HostReader(procRoot, Path.of("/sys/block"), intervalMillis);
        this.machine = MachineInfo.read(procRoot);
        this.thread = vertx.createSharedWorkerExecutor("corral-web", 1);
        this.streams = new WebStreams(vertx, events);
        if (runtime != null) {
            runtime.addListener(e -> {
                switch (e.type()) {
                    case POLICY -> { }
                    case POLICY_LOADED -> lastLoaded = e;
                    case POLICY_REJECTED -> lastRejected = e;
                    default -> recordsChanged.set(true);
                }
            });
        }
    }

    @Override
    public void collected(Snapshot previous, Snapshot current) {
        if (queued.compareAndSet(false, true)) { // a slow cycle skips snapshots rather than queueing them
            thread.executeBlocking(() -> {
                queued.set(false);
                frame(previous, current);
                return null;
            }, false).onFailure(t -> LOG.warn("web page frame failed", t));
        }
    }

    private void frame(Snapshot previous, Snapshot current) {
        refreshRecords();
        Map<String, float[]> values = new HashMap<>();
        List<RowInput> inputs = new ArrayList<>(current.live().size() + current.recent().size());
        Map<String, CgroupSample> nextBases = new HashMap<>();
        Rows.forEach(current, (s, live) -> {
            CgroupSample base = live ? bases.get(s.path()) : null;
            float[] v = Rows.values(s, base, intervalMillis, lastValues.get(s.path()));
            if (live) {
                values.put(s.path(), v);
                nextBases.put(s.path(), Rows.newBase(s, base, intervalMillis) ? s : base);
            }
            inputs.add(new RowInput(s, v, live));
        });
        float[] h = host.read();
        h[History.H_COLLECT_MS] = collectMillis();
        history.add(current.timestampMillis(), h, values);
        bases = nextBases;
        lastValues = values;
        JsonObject hostValues = new JsonObject();
        for (int f = 0; f < History.HOST_FIELDS; f++) {
            if (!Float.isNaN(h[f])) {
                hostValues.put(History.HOST[f], h[f]);
            }
        }
        hostNow = hostValues;
        if (streams.open() == 0) {
            // No page is open: the rows are built when one asks (state, container), not every cycle. They were a
            // JSON object per cgroup and cycle, most of this thread's CPU and allocation at 1,000 cgroups.
            pendingRows = inputs;
            sent = Map.of();
            return;
        }
        JsonArray out = build(inputs);
        Map<String, JsonObject> byId = new HashMap<>();
        for (Object o : out) {
            JsonObject row = (JsonObject) o;
            byId.put(row.getString("id"), row);
        }
        Map<String, JsonObject> before = sent;
        sent = byId;
        // encoded once for all open pages, which get only the rows that changed
        JsonArray changed = new JsonArray();
        byId.forEach((id, row) -> {
            if (!row.equals(before.get(id))) {
                changed.add(row);
            }
        });
        JsonArray removed = new JsonArray();
        before.keySet().stream().filter(id -> !byId.containsKey(id)).forEach(removed::add);
        Buffer delta = frame(current.timestampMillis(), hostValues, changed, removed, false);
        Buffer full = streams.fresh() ? frame(current.timestampMillis(), hostValues, out, new JsonArray(), true)
                : null;
        streams.sample(delta, full);
    }

    /** One cgroup's sample and values of the last frame, its row not built yet. */
    private record RowInput(CgroupSample sample, float[] values, boolean live) {
    }

    private JsonArray build(List<RowInput> inputs) {
        Map<String, Double> entitled = entitled();
        JsonArray out = new JsonArray();
        for (RowInput in : inputs) {
            CgroupSample s = in.sample();
            ContainerRecord record = records.get(s.path());
            out.add(Rows.row(record != null ? record.name() : names.nameOf(s.path()), s, in.values(), in.live(),
                    record, policy == null ? null : policy.policy(), entitled.get(s.path())));
        }
        pendingRows = null;
        rows = out;
        return out;
    }

    /** The last frame's rows (web thread only), built now if no open page needed them then. */
    private JsonArray rows() {
        List<RowInput> pending = pendingRows;
        return pending != null ? build(pending) : rows;
    }

    private static Buffer frame(long t, JsonObject host, JsonArray rows, JsonArray removed, boolean full) {
        return Buffer.buffer("event: sample\ndata: " + new JsonObject().put("t", t).put("full", full).put("host", host)
                .put("rows", rows).put("removed", removed).encode() + "\n\n");
    }

    private void refreshRecords() {
        if (runtime == null || !recordsChanged.getAndSet(false)) {
            return;
        }
        try {
            Map<String, ContainerRecord> byCgroup = new HashMap<>();
            for (ContainerRecord r : runtime.list()) {
                byCgroup.put(r.cgroup(), r);
            }
            records = byCgroup;
        } catch (Exception e) {
            recordsChanged.set(true);
            LOG.debug("cannot list containers: {}", e.getMessage());
        }
    }

    /** The policy's CPU entitlements by cgroup path, from its gauges (the same figures as /metrics). */
    private Map<String, Double> entitled() {
        Map<String, Double> out = new HashMap<>();
        for (Gauge g : registry.find("corral.policy.cpu.entitled.cores").gauges()) {
            String id = g.getId().getTag("id");
            if (id != null) {
                out.put(id, g.value());
            }
        }
        return out;
    }

    /** The mean collection time over the cycles since the last call, from the collector's own timer. */
    private float collectMillis() {
        Timer t = registry.find("corral.collection.duration").timer();
        if (t == null) {
            return Float.NaN;
        }
        double total = t.totalTime(TimeUnit.MILLISECONDS);
        long count = t.count();
        float mean = count > collectCount ? (float) ((total - collectTotalMillis) / (count - collectCount)) : Float.NaN;
        collectTotalMillis = total;
        collectCount = count;
        return mean;
    }

    /** The page's first load: what the host is, its history, the rows and their sparklines. */
    JsonObject state() {
        JsonObject info = new JsonObject().put("cgroupMode", exporter.layout().mode().label())
                .put("cpus", machine.cpuCores()).put("memoryBytes", machine.memoryBytes())
                .put("intervalMillis", intervalMillis).put("points", History.POINTS)
                .put("runtime", runtime != null).put("policy", policy != null)
                .put("version", dev.corral.agent.Version.current());
        JsonObject spark = new JsonObject();
        history.field(0, SPARK_POINTS).forEach((id, values) -> spark.put(id, new JsonArray(values)));
        return new JsonObject().put("info", info).put("times", new JsonArray(history.times()))
                .put("host", new JsonObject(new HashMap<>(history.host()))).put("hostNow", hostNow)
                .put("rows", rows()).put("spark", spark);
    }

    /** One cgroup: its row, labels, policy class and full history; null when not seen. */
    JsonObject container(String id) {
        JsonObject row = null;
        for (Object o : rows()) {
            if (o instanceof JsonObject r && id.equals(r.getString("id"))) {
                row = r;
            }
        }
        if (row == null) {
            return null;
        }
        JsonObject out = new JsonObject().put("row", row).put("times", new JsonArray(history.times()));
        Map<String, List<Float>> series = history.cgroup(id, History.POINTS);
        out.put("series", series == null ? new JsonObject() : new JsonObject(new HashMap<>(series)));
        ContainerRecord record = records.get(id);
        if (record != null) {
            Map<String, String> labels = record.spec().labels() == null ? Map.of() : record.spec().labels();
            out.put("labels", new JsonObject(new HashMap<>(labels)));
            if (policy != null) {
                out.put("class", JsonObject.mapFrom(policy.policy().classOf(record.name(), labels)));
            }
        }
        return out;
    }

    /** The loaded policy, which containers each class selects, and the last rejected version. */
    JsonObject policyView() {
        if (policy == null) {
            return new JsonObject().put("loaded", false);
        }
        dev.corral.policies.file.Policy p = policy.policy();
        Map<String, JsonArray> selects = new HashMap<>();
        for (ContainerRecord r : records.values()) {
            Map<String, String> labels = r.spec().labels() == null ? Map.of() : r.spec().labels();
            selects.computeIfAbsent(p.classOf(r.name(), labels).name(), k -> new JsonArray()).add(r.name());
        }
        JsonArray classes = new JsonArray();
        for (dev.corral.policies.file.Policy.PolicyClass c : p.classes()) {
            classes.add(JsonObject.mapFrom(c).put("containers", selects.getOrDefault(c.name(), new JsonArray())));
        }
        if (selects.containsKey(dev.corral.policies.file.Policy.DEFAULT_CLASS.name())
                && p.classes().stream().noneMatch(c -> c.name().equals(dev.corral.policies.file.Policy.DEFAULT_CLASS.name()))) {
            classes.add(JsonObject.mapFrom(dev.corral.policies.file.Policy.DEFAULT_CLASS)
                    .put("containers", selects.get(dev.corral.policies.file.Policy.DEFAULT_CLASS.name())));
        }
        JsonObject out = new JsonObject().put("loaded", true).put("source", policy.source())
                .put("dryRun", policy.dryRun()).put("classes", classes)
                .put("policies", JsonObject.mapFrom(p.policies()));
        if (lastLoaded != null) {
            out.put("lastLoadedMillis", lastLoaded.timeMillis());
        }
        if (lastRejected != null) {
            out.put("lastRejected", new JsonObject(new HashMap<>(lastRejected.attributes()))
                    .put("timeMillis", lastRejected.timeMillis()));
        }
        return out;
    }

    <T> io.vertx.core.Future<T> onWebThread(java.util.concurrent.Callable<T> work) {
        return thread.executeBlocking(work, false);
    }

    @Override
    public void close() {
        streams.close();
        thread.close();
        host.close();
    }
}

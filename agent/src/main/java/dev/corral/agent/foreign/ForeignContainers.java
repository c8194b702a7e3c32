package dev.corral.agent.foreign;

import dev.corral.exporter.collect.CollectorListener;
import dev.corral.exporter.collect.Snapshot;
import dev.corral.exporter.metrics.ContainerNames;
import dev.corral.exporter.naming.CgroupOrigin;
import dev.corral.exporter.naming.ContainerIdentity;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Names every cgroup, whoever made it: Corral's own containers by their records, systemd units by their unit,
 * and Docker and Podman containers (Kubernetes ones too, when the runtime speaks Docker's API) by what their
 * runtime says about them. The runtime is asked once per container, when its cgroup or its {@code start} event
 * is first seen, and kept current from its event stream ({@code rename}); never per cycle. Lookups are
 * asynchronous with a deadline: a cgroup is exported by {@code id} at once and gains its names when the answer
 * arrives, and a runtime that is absent, slow or restarting never stalls a collection cycle. A name stays as
 * long as the cgroup's samples do (live, then retained), so a removed container's last counters keep it.
 *
 * <p>containerd and CRI-O are named from the path alone (runtime, pod uid, QoS class): containerd's API is gRPC
 * with no well-kept Java client, and generating its protobufs would add grpc-java and protobuf for three labels.
 */
public final class ForeignContainers implements ContainerNames, CollectorListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ForeignContainers.class);
    private static final long FORGET_UNSEEN_MILLIS = 10 * 60_000;
    private static final long MAX_BACKOFF_MILLIS = 30_000;
    private static final int MAX_ATTEMPTS = 3;
    private static final long RETRY_MILLIS = 2_000;

    /**
     * A cgroup path's origin and, for Corral's own containers, the name it had last (kept after removal; a rename
     * replaces it).
     */
    private record PathEntry(CgroupOrigin origin, String ownName) {
    }

    /** What a runtime said about a container id; {@code identity} null when no runtime asked knows it. */
    private record Known(ContainerIdentity identity, String podUid, long atMillis, Map<String, String> labels) {
        Known(ContainerIdentity identity, String podUid, long atMillis) {
            this(identity, podUid, atMillis, Map.of());
        }
    }

    private final Vertx vertx;
    private final io.vertx.core.Context context;
    private final ContainerNames own;
    private final List<DockerApi> apis;
    private final Set<String> labelKeys;
    private final LongSupplier clock;
    private final Map<String, PathEntry> paths = new ConcurrentHashMap<>();
    private final Map<String, Known> byId = new ConcurrentHashMap<>();
    private final Map<String, String[]> pods = new ConcurrentHashMap<>(); // pod uid -> {name, namespace}
    private final Set<String> asking = ConcurrentHashMap.newKeySet();
    private final Set<String> unanswered = ConcurrentHashMap.newKeySet();
    private final Map<String, Integer> attempts = new ConcurrentHashMap<>();
    private final Map<DockerApi, Boolean> connectedOnce = new ConcurrentHashMap<>();
    private final Set<String> following = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private long cycles;

    /**
     * @param own       Corral's own containers' names
     * @param apis      the Docker-API runtimes to ask (Docker's and Podman's sockets), in the order a Kubernetes
     *                  container whose path does not name its runtime is asked about
     * @param labelKeys runtime label keys exported on {@code container_info} (none by default)
     */
    public ForeignContainers(Vertx vertx, ContainerNames own, List<DockerApi> apis, Set<String> labelKeys) {
        this.vertx = vertx;
        this.context = vertx.getOrCreateContext();
        this.own = own;
        this.apis = List.copyOf(apis);
        this.labelKeys = Set.copyOf(labelKeys);
        this.clock = System::currentTimeMillis;
    }

    /** Opens each runtime's event stream (and keeps reopening it while the runtime is away). */
    public ForeignContainers start() {
        context.runOnContext(v -> apis.forEach(this::connect));
        return this;
    }

    /** The runtimes whose event stream is open now. */
    public Set<String> following() {
        return Set.copyOf(following);
    }

    // ---- naming (any thread, never blocks) ------------------------------------------------------------

    @Override
    public String nameOf(String cgroupPath) {
        return identityOf(cgroupPath).name();
    }

    @Override
    public ContainerIdentity identityOf(String cgroupPath) {
        PathEntry e = paths.get(cgroupPath);
        if (e == null) {
            e = entry(cgroupPath);
        } else if (e.origin() == CgroupOrigin.NONE) { // asked each time: a renamed container keeps its cgroup
            String name = own.nameOf(cgroupPath);
            if (!name.isEmpty() && !name.equals(e.ownName())) {
                e = new PathEntry(e.origin(), name);
                paths.put(cgroupPath, e);
            }
        }
        if (!e.ownName().isEmpty()) {
            return ContainerIdentity.named(e.ownName(), "corral");
        }
        CgroupOrigin o = e.origin();
        if (o.isContainer()) {
            Known k = byId.get(o.containerId());
            return k != null && k.identity() != null ? k.identity() : ContainerIdentity.fromPath(o);
        }
        if (o.inPod()) {
            String[] pod = pods.get(o.podUid());
            if (pod != null) {
                return new ContainerIdentity("", "", pod[0], pod[1], "", "", Map.of());
            }
        }
        return ContainerIdentity.fromPath(o);
    }

    private PathEntry entry(String path) {
        CgroupOrigin origin = CgroupOrigin.of(path);
        return new PathEntry(origin, origin == CgroupOrigin.NONE ? own.nameOf(path) : "");
    }

    /**
     * Every label the runtime gave the container at {@code cgroupPath} (not only the exported allow-list): what
     * policy class selectors match. Empty while unknown.
     */
    public Map<String, String> runtimeLabels(String cgroupPath) {
        PathEntry e = paths.get(cgroupPath);
        CgroupOrigin o = e == null ? CgroupOrigin.of(cgroupPath) : e.origin();
        Known k = o.isContainer() ? byId.get(o.containerId()) : null;
        return k == null ? Map.of() : k.labels();
    }

    /** A foreign container whose cgroup is live, for {@code corral ps --all-runtimes}. */
    public record Listed(String cgroup, String runtime, String containerId, ContainerIdentity identity,
                         String podUid, String qosClass) {
    }

    /** The foreign containers with a live cgroup in {@code snapshot}, read-only. */
    public List<Listed> list(Snapshot snapshot) {
        List<Listed> out = new ArrayList<>();
        for (String path : snapshot.live().keySet()) {
            PathEntry e = paths.get(path);
            CgroupOrigin o = e == null ? CgroupOrigin.of(path) : e.origin();
            if (o.isContainer()) {
                ContainerIdentity who = identityOf(path);
                out.add(new Listed(path, who.runtime().isEmpty() ? o.runtime() : who.runtime(), o.containerId(), who,
                        o.podUid(), o.qosClass()));
            }
        }
        out.sort(java.util.Comparator.comparing(Listed::cgroup));
        return out;
    }

    // ---- following the collector (its thread) --------------------------------------------------------------

    @Override
    public void collected(Snapshot previous, Snapshot current) {
        if (previous.live() != current.live()) {
            for (String path : current.live().keySet()) {
                if (!paths.containsKey(path)) {
                    PathEntry e = entry(path);
                    paths.put(path, e);
                    if (e.origin().isContainer()) { // on the event loop: this thread only hands it over
                        String id = e.origin().containerId();
                        List<DockerApi> candidates = apisFor(e.origin().runtime());
                        if (!candidates.isEmpty()) {
                            context.runOnContext(v -> ask(id, candidates));
                        }
                    }
                }
            }
        }
        if (cycles++ % 10 == 0 || current.live().size() + current.recent().size() < paths.size()) {
            forget(current);
        }
    }

    /** Drops what belongs to cgroups that are neither live nor retained any more. */
    private void forget(Snapshot current) {
        paths.keySet().removeIf(p -> !current.live().containsKey(p) && !current.recent().containsKey(p));
        Set<String> ids = new HashSet<>();
        Set<String> podUids = new HashSet<>();
        for (PathEntry e : paths.values()) {
            if (e.origin().containerId() != null) {
                ids.add(e.origin().containerId());
            }
            if (e.origin().podUid() != null) {
                podUids.add(e.origin().podUid());
            }
        }
        long now = clock.getAsLong();
        byId.entrySet().removeIf(en -> !ids.contains(en.getKey()) && now - en.getValue().atMillis() > FORGET_UNSEEN_MILLIS);
        unanswered.retainAll(ids);
        attempts.keySet().retainAll(ids);
        Set<String> named = new HashSet<>(podUids);
        byId.values().forEach(k -> {
            if (k.podUid() != null) {
                named.add(k.podUid());
            }
        });
        pods.keySet().retainAll(named);
    }

    // ---- asking the runtimes ------------------------------------------------------------------------

    private List<DockerApi> apisFor(String runtime) {
        if (runtime == null) {
            return List.of();
        }
        return switch (runtime) {
            case CgroupOrigin.DOCKER, CgroupOrigin.PODMAN -> apis.stream().filter(a -> a.runtime().equals(runtime))
                    .toList();
            case CgroupOrigin.CRI -> apis;
            default -> List.of(); // containerd, CRI-O: the path alone (see the class comment)
        };
    }

    private void ask(String id, List<DockerApi> candidates) {
        if (closed || candidates.isEmpty() || byId.containsKey(id) || !asking.add(id)) {
            return;
        }
        ask(id, candidates, 0);
    }

    private void ask(String id, List<DockerApi> candidates, int i) {
        DockerApi api = candidates.get(i);
        api.inspect(id).onComplete(r -> {
            if (r.succeeded()) {
                learn(id, r.result(), api.runtime());
                unanswered.remove(id);
                attempts.remove(id);
                asking.remove(id);
            } else if (r.cause() instanceof DockerApi.NoSuchContainer && i + 1 < candidates.size()) {
                ask(id, candidates, i + 1);
            } else {
                if (r.cause() instanceof DockerApi.NoSuchContainer) {
                    byId.put(id, new Known(null, null, clock.getAsLong())); // not asked again
                    attempts.remove(id);
                    asking.remove(id);
                } else {
                    unanswered.add(id); // asked again soon, and when a runtime's event stream (re)opens
                    LOG.debug("no answer from {} about {}: {}", api.runtime(), id, r.cause().toString());
                    int tries = attempts.merge(id, 1, Integer::sum);
                    asking.remove(id);
                    if (!closed) { // 2 s, 4 s, then every 30 s while its cgroup is retained
                        vertx.setTimer(tries < MAX_ATTEMPTS ? RETRY_MILLIS * tries : MAX_BACKOFF_MILLIS, t -> {
                            if (unanswered.contains(id)) {
                                ask(id, candidates);
                            }
                        });
                    }
                }
            }
        });
    }

    /** Records what an inspect answered. */
    void learn(String id, JsonObject inspect, String runtime) {
        String name = inspect.getString("Name", "");
        if (name.startsWith("/")) {
            name = name.substring(1);
        }
        JsonObject config = inspect.getJsonObject("Config", new JsonObject());
        JsonObject labels = config.getJsonObject("Labels");
        Map<String, String> all = new HashMap<>();
        if (labels != null) {
            labels.forEach(en -> all.put(en.getKey(), String.valueOf(en.getValue())));
        }
        String pod = all.get("io.kubernetes.pod.name");
        String namespace = all.get("io.kubernetes.pod.namespace");
        String podUid = all.get("io.kubernetes.pod.uid");
        if (podUid != null && pod != null) {
            pods.put(podUid, new String[] {pod, namespace == null ? "" : namespace});
        }
        Map<String, String> allowed = new HashMap<>();
        for (String key : labelKeys) {
            String v = all.get(key);
            if (v != null) {
                allowed.put(key, v);
            }
        }
        byId.put(id, new Known(new ContainerIdentity(name, config.getString("Image", ""), pod, namespace,
                all.get("io.kubernetes.container.name"), runtime, allowed), podUid, clock.getAsLong(), Map.copyOf(all)));
    }

    // ---- event streams --------------------------------------------------------------------------------

    private void connect(DockerApi api) {
        connect(api, 1000);
    }

    private void connect(DockerApi api, long backoff) {
        if (closed) {
            return;
        }
        api.events(e -> onEvent(api, e), t -> {
            following.remove(api.runtime());
            if (closed) {
                return;
            }
            LOG.info("{} event stream at {} ended{}; reconnecting", api.runtime(), api.socket(),
                    t == null ? "" : " (" + t.getMessage() + ")");
            retry(api, 1000);
        }).onSuccess(v -> {
            LOG.info("following {} containers through {}", api.runtime(), api.socket());
            following.add(api.runtime());
            boolean again = connectedOnce.put(api, true) != null;
            List<String> redo = new ArrayList<>(unanswered);
            if (again) { // renames may have been missed while away
                byId.forEach((id, k) -> {
                    if (k.identity() != null && k.identity().runtime().equals(api.runtime())) {
                        redo.add(id);
                    }
                });
            }
            for (String id : redo) {
                byId.remove(id);
                attempts.remove(id);
                ask(id, List.of(api));
            }
        }).onFailure(t -> {
            LOG.debug("{} not reachable at {}: {}", api.runtime(), api.socket(), t.toString());
            retry(api, backoff);
        });
    }

    private void retry(DockerApi api, long backoff) {
        if (!closed) {
            vertx.setTimer(backoff, t -> connect(api, Math.min(MAX_BACKOFF_MILLIS, backoff * 2)));
        }
    }

    private void onEvent(DockerApi api, JsonObject e) {
        String action = e.getString("Action", e.getString("status", ""));
        JsonObject actor = e.getJsonObject("Actor", new JsonObject());
        String id = e.getString("id", actor.getString("ID", ""));
        if (id.isEmpty()) {
            return;
        }
        switch (action) {
            case "start" -> ask(id, List.of(api)); // before its cgroup is seen, usually
            case "rename" -> {
                Known k = byId.get(id);
                String name = actor.getJsonObject("Attributes", new JsonObject()).getString("name");
                if (k != null && k.identity() != null && name != null) {
                    ContainerIdentity w = k.identity();
                    byId.put(id, new Known(new ContainerIdentity(name.startsWith("/") ? name.substring(1) : name,
                            w.image(), w.pod(), w.namespace(), w.container(), w.runtime(), w.labels()), k.podUid(),
                            clock.getAsLong(), k.labels()));
                } else {
                    byId.remove(id);
                    ask(id, List.of(api));
                }
            }
            case "destroy" -> {
                boolean hasCgroup = paths.values().stream().anyMatch(p -> id.equals(p.origin().containerId()));
                if (!hasCgroup) {
                    byId.remove(id); // never seen: nothing retained to name
                }
            }
            default -> {
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        apis.forEach(DockerApi::close);
    }
}

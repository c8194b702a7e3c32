package dev.corral.policies.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Safe stewardship of cgroup values another runtime owns (Docker, Podman, kubelet). Pure bookkeeping: the agent
 * reads and writes the files and tells this class what it saw; this class says what may be written, what must
 * be restored and when the owner took a value back.
 * <ul>
 *   <li>Before the first write of a knob (a control file such as "cpu.shares"), the owner's value is recorded;
 *       after each write, the value the kernel shows is recorded as ours.</li>
 *   <li>When the file no longer shows our value, the owner (e.g. {@code docker update --cpu-shares}, kubelet's
 *       QoS manager) rewrote it: the policy backs off from that knob of that container for as long as the
 *       container lives (never fights), the owner's new value stands, and an audit record says so.</li>
 *   <li>When the policy stops acting on a container (its class removed, no longer selected or no longer
 *       governed, the agent stopping), every knob still holding our value gets the owner's value back.</li>
 * </ul>
 * Keys are cgroup paths. Not thread-safe: the policy thread uses it.
 */
public final class OwnerValues {

    /** The policy name on this class's audit records. */
    public static final String NAME = "foreign";

    private record Held(String owner, String ours) {
    }

    /** A knob to set back to the owner's value, if it still holds ours. */
    public record Restore(String cgroup, String knob, String owner, String ours) {
    }

    private final Map<String, Map<String, Held>> held = new HashMap<>();
    private final Map<String, Set<String>> yielded = new HashMap<>();

    /** Whether the policy may write {@code knob}: not when it backed off from it. */
    public boolean mayWrite(String cgroup, String knob) {
        return !yielded.getOrDefault(cgroup, Set.of()).contains(knob);
    }

    /** Knobs the policy backed off from on this cgroup. */
    public Set<String> yielded(String cgroup) {
        return Set.copyOf(yielded.getOrDefault(cgroup, Set.of()));
    }

    /**
     * Records a write: {@code before} is what the file showed just before it (the owner's value when the policy
     * holds none there yet), {@code after} what it shows now. A write that brings the owner's value back ends
     * the hold: there is nothing left to restore.
     */
    public void wrote(String cgroup, String knob, String before, String after) {
        Map<String, Held> knobs = held.computeIfAbsent(cgroup, k -> new HashMap<>());
        Held h = knobs.get(knob);
        String owner = h == null ? before : h.owner();
        if (after.equals(owner)) {
            knobs.remove(knob);
            if (knobs.isEmpty()) {
                held.remove(cgroup);
            }
        } else {
            knobs.put(knob, new Held(owner, after));
        }
    }

    /** The owner's value of a knob the policy holds, or null. */
    public String ownerValue(String cgroup, String knob) {
        Held h = held.getOrDefault(cgroup, Map.of()).get(knob);
        return h == null ? null : h.owner();
    }

    /** The knobs the policy holds on a cgroup (those whose current value it should check). */
    public Set<String> heldKnobs(String cgroup) {
        return Set.copyOf(held.getOrDefault(cgroup, Map.of()).keySet());
    }

    /** Cgroups where the policy holds some knob. */
    public Set<String> cgroups() {
        return Set.copyOf(held.keySet());
    }

    /**
     * Compares what the files show with what the policy wrote: each knob that differs was rewritten by its owner,
     * and the policy backs off from it (forgets it, writes it no more). Returns one audit record per back-off.
     *
     * @param current knob → content now; a knob missing here (file gone) is not judged
     */
    public List<Audit> check(long nowMillis, String cgroup, String container, Map<String, String> current) {
        List<Audit> out = new ArrayList<>();
        Map<String, Held> knobs = held.get(cgroup);
        if (knobs == null) {
            return out;
        }
        for (Map.Entry<String, Held> e : List.copyOf(knobs.entrySet())) {
            String now = current.get(e.getKey());
            if (now != null && !now.equals(e.getValue().ours())) {
                knobs.remove(e.getKey());
                yielded.computeIfAbsent(cgroup, k -> new HashSet<>()).add(e.getKey());
                Map<String, Object> in = new LinkedHashMap<>();
                in.put("knob", e.getKey());
                in.put("ownerValueBefore", e.getValue().owner());
                out.add(new Audit(nowMillis, NAME, container, "back-off", "owner-rewrote", e.getValue().ours(), now,
                        in, false));
            }
        }
        if (knobs.isEmpty()) {
            held.remove(cgroup);
        }
        return out;
    }

    /** The policy stops acting on {@code cgroup}: what to set back (the caller checks each still shows ours). */
    public List<Restore> release(String cgroup) {
        List<Restore> out = new ArrayList<>();
        Map<String, Held> knobs = held.remove(cgroup);
        if (knobs != null) {
            knobs.forEach((k, h) -> out.add(new Restore(cgroup, k, h.owner(), h.ours())));
        }
        return out;
    }

    /** The audit record of one restore (or of leaving a value the owner changed meanwhile). */
    public static Audit restored(long nowMillis, String container, Restore r, String reason, boolean done) {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("knob", r.knob());
        return new Audit(nowMillis, NAME, container, done ? "restore" : "leave-owner-value", reason, r.ours(),
                done ? r.owner() : "owner's", in, false);
    }

    /** Forgets cgroups that are gone (nothing left to restore there). */
    public void retain(Set<String> liveCgroups) {
        held.keySet().retainAll(liveCgroups);
        yielded.keySet().retainAll(liveCgroups);
    }
}

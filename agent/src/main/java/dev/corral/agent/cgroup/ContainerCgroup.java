package dev.corral.agent.cgroup;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** A container's cgroup, in every hierarchy the host has. */
public interface ContainerCgroup {

    /** The cgroup path, e.g. "/corral/web". */
    String path();

    /** The cgroup.procs files the container's init joins before it runs anything. */
    List<Path> procsFiles();

    /**
     * The cgroup v2 directory corral-shim attaches the device filter (DeviceRules as a BPF program) to before the
     * container joins; empty where a v1 devices controller enforces the rules.
     */
    default Optional<Path> deviceFilterDir() {
        return Optional.empty();
    }

    /**
     * Allows these device rules (DeviceRules syntax) on top of the default list where a v1 devices controller
     * enforces them; on v2 corral-shim compiles them into the filter with the default list.
     */
    default void allowDevices(List<String> rules) throws CgroupException {
    }

    /**
     * One control file's content as the kernel shows it (e.g. "cpu.shares", the controller is its prefix), null
     * when the cgroup or file is not there.
     */
    String knob(String file);

    /** Writes one control file as is (a value read with {@link #knob} writes back unchanged). */
    void setKnob(String file, String value) throws CgroupException;

    /** Applies limits all or nothing. */
    void update(ResourceLimits limits) throws CgroupException;

    void freeze() throws CgroupException;

    void thaw() throws CgroupException;

    boolean frozen() throws CgroupException;

    /** SIGKILLs every process: cgroup.kill where the kernel has it, else freeze, kill each, thaw. */
    void killAll() throws CgroupException;

    /** Pids of every process inside. */
    List<Long> pids() throws CgroupException;

    boolean populated() throws CgroupException;

    /** OOM kills inside this cgroup so far. */
    long oomKills() throws CgroupException;

    /** Removes the cgroup from every hierarchy; Busy while processes remain. */
    void remove() throws CgroupException;

    boolean exists();
}

package dev.corral.agent.cgroup;

import dev.corral.agent.posix.Posix;

/**
 * Kills every process of a cgroup without cgroup.kill: freeze it so nothing can fork, SIGKILL each pid, thaw
 * so the kills are delivered (a frozen task dies only once thawed), and repeat until the cgroup is empty.
 */
final class FreezeKill {

    private static final int SIGKILL = 9;

    private FreezeKill() {
    }

    static void killFrozen(ContainerCgroup cg) throws CgroupException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!cg.pids().isEmpty()) {
            cg.freeze();
            for (long pid : cg.pids()) {
                Posix.get().kill(pid, SIGKILL);
            }
            cg.thaw();
            if (System.currentTimeMillis() > deadline) {
                throw new CgroupException.Busy("processes of " + cg.path() + " survived SIGKILL for 10 s: "
                        + cg.pids(), null, null, null);
            }
            DirsCgroup.sleep(5);
        }
    }
}

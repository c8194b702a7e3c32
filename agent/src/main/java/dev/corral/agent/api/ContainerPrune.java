package dev.corral.agent.api;

import dev.corral.agent.ContainerException;
import dev.corral.agent.image.Trees;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import dev.corral.agent.runtime.ContainerState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * POST /v1/containers/prune: removes every stopped container (created or exited; not queued, running or paused), as
 * docker container prune, and says which and how many bytes their directories held (logs, the writable layer).
 */
final class ContainerPrune {

    private ContainerPrune() {
    }

    /** {"deleted":[{"name","id"}...],"reclaimedBytes":N}; one that started or went meanwhile is left out. */
    static Map<String, Object> run(ContainerRuntime runtime) throws ContainerException {
        List<Map<String, String>> deleted = new ArrayList<>();
        long reclaimed = 0;
        for (ContainerRecord r : runtime.list()) {
            if (r.state() != ContainerState.EXITED && r.state() != ContainerState.CREATED) {
                continue;
            }
            long size = size(runtime.logDir(r.name()).getParent()) + size(runtime.images().containerDir(r.name()));
            try {
                runtime.remove(r.name(), false); // not forced: one started since the list stays
            } catch (ContainerException e) {
                if (e.kind() == ContainerException.Kind.FAILED) {
                    throw e;
                }
                continue;
            }
            deleted.add(Map.of("name", r.name(), "id", r.id()));
            reclaimed += size;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("deleted", deleted);
        out.put("reclaimedBytes", reclaimed);
        return out;
    }

    private static long size(Path dir) {
        try {
            return Files.isDirectory(dir) ? Trees.size(dir) : 0;
        } catch (IOException e) {
            return 0; // removed meanwhile, or unreadable: not counted
        }
    }
}

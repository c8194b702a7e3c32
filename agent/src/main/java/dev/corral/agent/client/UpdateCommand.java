package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.spec.ContainerSpec;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code corral update [limit flags] NAME...}: change the limits of live containers. */
@Command(name = "update", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = {"Change the resource limits of running containers (the same flags as run).",
                "Limits not given are left as they are; all controllers change or none."})
public final class UpdateCommand extends ClientCommand {

    @Mixin
    LimitOptions limits = new LimitOptions();

    @Parameters(paramLabel = "NAME", arity = "1..*")
    List<String> names;

    @Override
    protected int run(CorralClient client) throws Exception {
        if (limits.isEmpty()) {
            throw usage("update needs at least one limit flag, e.g. --memory 512m or --cpus 1.5");
        }
        checkNames(names);
        ContainerSpec.Limits body = limits.needsCurrentMemory() ? null : limits.toLimits(null, this::usage);
        return forEach(names, n -> {
            ContainerSpec.Limits l = body != null ? body : limits.toLimits(currentMemoryMax(client, n), this::usage);
            client.patch(containerPath(n) + "/limits", l);
            out().println(n);
        });
    }

    /** --memory-swap alone is a total, so it needs the memory limit the container has now. */
    private static Long currentMemoryMax(CorralClient client, String name)
            throws ApiException, DaemonUnreachableException {
        JsonNode max = client.get(containerPath(name)).path("spec").path("limits").path("memory").path("max");
        if (max.isIntegralNumber()) {
            return max.asLong();
        }
        if (max.isTextual()) {
            try {
                return dev.corral.exporter.sample.ByteSizes.parseLimit(max.asText());
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        return null;
    }
}

package dev.corral.agent.client;

import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.RestartRules;
import picocli.CommandLine.Option;

/** {@code --restart} and {@code --stop-timeout} of run (and create): Docker's flags, set on the spec. */
public final class RestartOptions {

    @Option(names = "--restart", paramLabel = "no|on-failure[:N]|always|unless-stopped", description = "Start the "
            + "container again when it exits: on-failure (non-zero exit, an OOM kill too; at most N times), always, "
            + "unless-stopped (as always here). Backoff 100 ms, doubling, reset after 10 s of running; also when "
            + "the agent starts; a stop is never undone by the policy. Default no.")
    String restart;

    @Option(names = "--stop-timeout", paramLabel = "SECONDS", description = "Seconds from SIGTERM to SIGKILL when "
            + "the container is stopped (default 10); stop -t overrides it.")
    Integer stopTimeout;

    /**
     * The spec with these flags set. A bad value is docker run's failure (exit 125), one line naming the flag, before
     * any request.
     */
    ContainerSpec apply(ContainerSpec s) throws ApiException {
        ContainerSpec.RestartPolicy policy = null;
        if (restart != null) {
            try {
                policy = RestartRules.parseFlag(restart);
            } catch (IllegalArgumentException e) {
                throw new ApiException(400, e.getMessage(), "--restart");
            }
        }
        if (stopTimeout != null && (stopTimeout < 0 || stopTimeout > RestartRules.MAX_STOP_TIMEOUT)) {
            throw new ApiException(400, "must be 0 to " + RestartRules.MAX_STOP_TIMEOUT + " seconds, got "
                    + stopTimeout, "--stop-timeout");
        }
        if (policy == null && stopTimeout == null) {
            return s;
        }
        return s.withRestart(policy, stopTimeout);
    }
}

package dev.corral.agent.spec;

import java.util.Locale;

/**
 * Docker's restart policies, decided here (pure; the runtime's {@code Restarts} acts): {@code no}; {@code on-failure}
 * restarts after a non-zero exit (an OOM kill is 137), at most {@code maximumRetryCount} times when above 0;
 * {@code always} and {@code unless-stopped} restart whatever the exit. When the agent starts, the containers whose
 * policy would restart their last exit start again. A stop is never undone by the policy, also not when the agent
 * starts: there Docker's daemon starts a stopped {@code always} container again, corral does not (so always and
 * unless-stopped act alike; both names are taken for Docker's users).
 */
public final class RestartRules {

    /** The seconds a stop waits from SIGTERM to SIGKILL unless the spec or the stop says otherwise. */
    public static final int DEFAULT_STOP_TIMEOUT = 10;
    public static final int MAX_STOP_TIMEOUT = 3600;

    private RestartRules() {
    }

    public enum Mode {
        NO, ON_FAILURE, ALWAYS, UNLESS_STOPPED;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        static Mode of(String label) {
            for (Mode m : values()) {
                if (m.label().equals(label)) {
                    return m;
                }
            }
            return null;
        }
    }

    /** The spec's restart mode (NO when it has no policy). Call on a checked spec. */
    public static Mode mode(ContainerSpec spec) {
        ContainerSpec.RestartPolicy p = spec.restartPolicy();
        return p == null || p.name() == null || p.name().isEmpty() ? Mode.NO : Mode.of(p.name());
    }

    /** Checks restartPolicy and stopTimeout, naming the field at fault. */
    public static void check(ContainerSpec spec) throws SpecException {
        ContainerSpec.RestartPolicy p = spec.restartPolicy();
        if (p != null) {
            String name = p.name() == null ? "" : p.name();
            Mode mode = name.isEmpty() ? Mode.NO : Mode.of(name);
            if (mode == null) {
                throw new SpecException("restartPolicy.name", "must be no, on-failure, always or unless-stopped, not '"
                        + SpecValidator.printable(name) + "'");
            }
            Integer max = p.maximumRetryCount();
            if (max != null && max < 0) {
                throw new SpecException("restartPolicy.maximumRetryCount", "must not be negative, got " + max);
            }
            if (max != null && max > 0 && mode != Mode.ON_FAILURE) {
                throw new SpecException("restartPolicy.maximumRetryCount", "only on-failure takes a maximum retry "
                        + "count, not " + mode.label());
            }
        }
        Integer t = spec.stopTimeout();
        if (t != null && (t < 0 || t > MAX_STOP_TIMEOUT)) {
            throw new SpecException("stopTimeout", "must be 0 to " + MAX_STOP_TIMEOUT + " seconds, got " + t);
        }
    }

    /** Docker refuses --rm with a restart policy: the container would be gone before it could restart. */
    public static void checkAutoRemove(ContainerSpec spec, boolean autoRemove) throws SpecException {
        if (autoRemove && mode(spec) != Mode.NO) {
            throw new SpecException("restartPolicy", "a container removed when it exits (--rm) cannot have a "
                    + "restart policy (" + mode(spec).label() + ")");
        }
    }

    /**
     * After an exit while the agent runs: restart? ({@code restartCount}: the policy's restarts so far.)
     *
     * @param exitCode null when unknown (its monitor died): counts as a failure
     */
    public static boolean restartAfterExit(ContainerSpec spec, Integer exitCode, int restartCount,
                                           boolean stoppedByUser) {
        if (stoppedByUser) {
            return false;
        }
        return switch (mode(spec)) {
            case NO -> false;
            case ALWAYS, UNLESS_STOPPED -> true;
            case ON_FAILURE -> (exitCode == null || exitCode != 0) && underMaximum(spec, restartCount);
        };
    }

    /** When the agent starts, for a container that is not running: start it? (As after its last exit.) */
    public static boolean startWithAgent(ContainerSpec spec, Integer exitCode, int restartCount,
                                         boolean stoppedByUser) {
        return restartAfterExit(spec, exitCode, restartCount, stoppedByUser);
    }

    private static boolean underMaximum(ContainerSpec spec, int restartCount) {
        Integer max = spec.restartPolicy().maximumRetryCount();
        return max == null || max == 0 || restartCount < max;
    }

    /** {@code --restart no|on-failure[:N]|always|unless-stopped}; IllegalArgumentException saying what is wrong. */
    public static ContainerSpec.RestartPolicy parseFlag(String flag) {
        int colon = flag.indexOf(':');
        String name = colon < 0 ? flag : flag.substring(0, colon);
        Mode mode = Mode.of(name);
        if (mode == null) {
            throw new IllegalArgumentException("'" + flag + "' is not no, on-failure[:N], always or unless-stopped");
        }
        if (colon < 0) {
            return new ContainerSpec.RestartPolicy(name, null);
        }
        if (mode != Mode.ON_FAILURE) {
            throw new IllegalArgumentException("'" + flag + "': only on-failure takes a maximum retry count");
        }
        String n = flag.substring(colon + 1);
        if (!n.matches("[0-9]{1,9}")) {
            throw new IllegalArgumentException("'" + flag + "': the maximum retry count '" + n
                    + "' is not a whole number");
        }
        return new ContainerSpec.RestartPolicy(name, Integer.parseInt(n));
    }
}

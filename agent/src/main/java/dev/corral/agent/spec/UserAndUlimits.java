package dev.corral.agent.spec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/** The spec's user by name ({@code user.name}) and its {@code ulimits}: validated into what the shim takes. */
final class UserAndUlimits {

    /** Docker's --ulimit names (runc's rlimit table). */
    static final Set<String> NAMES = Set.of("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
            "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack");
    private static final Pattern USER = Pattern.compile("[^:\\s\\x00]{1,255}(:[^:\\s\\x00]{1,255})?");

    private UserAndUlimits() {
    }

    /** {@code user.name}, checked; null when not given. */
    static String userName(ContainerSpec.User user) throws SpecException {
        if (user == null || user.name() == null) {
            return null;
        }
        if (user.uid() != null || user.gid() != null) {
            throw new SpecException("user.name", "give user.name or user.uid/user.gid, not both");
        }
        if (!USER.matcher(user.name()).matches()) {
            throw new SpecException("user.name", "'" + user.name() + "' is not USER[:GROUP] (names or numbers)");
        }
        return user.name();
    }

    /** "NAME SOFT HARD" per limit (-1 as "unlimited"); the hard limit defaults to the soft one. */
    static List<String> rlimits(List<ContainerSpec.Ulimit> ulimits) throws SpecException {
        List<String> out = new ArrayList<>();
        if (ulimits == null) {
            return out;
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < ulimits.size(); i++) {
            ContainerSpec.Ulimit u = ulimits.get(i);
            String field = "ulimits[" + i + "]";
            if (u == null || u.name() == null || !NAMES.contains(u.name())) {
                throw new SpecException(field + ".name", "'" + (u == null ? null : u.name())
                        + "' is not a ulimit: one of " + String.join(", ", NAMES.stream().sorted().toList()));
            }
            if (!seen.add(u.name())) {
                throw new SpecException(field + ".name", "'" + u.name() + "' given more than once");
            }
            if (u.soft() == null || u.soft() < -1) {
                throw new SpecException(field + ".soft", "must be a number of 0 or more, or -1 for unlimited");
            }
            long hard = u.hard() == null ? u.soft() : u.hard();
            if (hard < -1) {
                throw new SpecException(field + ".hard", "must be a number of 0 or more, or -1 for unlimited");
            }
            if (hard != -1 && (u.soft() == -1 || u.soft() > hard)) {
                throw new SpecException(field + ".soft", "the soft limit " + u.soft() + " is over the hard limit "
                        + hard);
            }
            out.add(u.name() + " " + value(u.soft()) + " " + value(hard));
        }
        return out;
    }

    private static String value(long v) {
        return v == -1 ? "unlimited" : Long.toString(v);
    }
}

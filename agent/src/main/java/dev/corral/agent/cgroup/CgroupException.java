package dev.corral.agent.cgroup;

import java.nio.file.Path;

/** A cgroup operation failed; names the file and the value so the cause is clear. */
public class CgroupException extends Exception {

    private final Path file;
    private final String value;

    public CgroupException(String message, Path file, String value, Throwable cause) {
        super(message, cause);
        this.file = file;
        this.value = value;
    }

    public Path file() {
        return file;
    }

    public String value() {
        return value;
    }

    /** The kernel refused the value (EINVAL, ERANGE): the request was wrong. */
    public static final class InvalidValue extends CgroupException {
        public InvalidValue(String message, Path file, String value, Throwable cause) {
            super(message, file, value, cause);
        }
    }

    /** The cgroup is in use (EBUSY): e.g. removing a populated cgroup, lowering a limit below usage. */
    public static final class Busy extends CgroupException {
        public Busy(String message, Path file, String value, Throwable cause) {
            super(message, file, value, cause);
        }
    }

    /** create: a directory of the cgroup exists already (EEXIST); nothing was made. */
    public static final class Exists extends CgroupException {
        public Exists(String message, Path file) {
            super(message, file, null, null);
        }
    }

    /** The file or cgroup does not exist (ENOENT): a controller or feature this kernel lacks. */
    public static final class Missing extends CgroupException {
        public Missing(String message, Path file, String value, Throwable cause) {
            super(message, file, value, cause);
        }
    }
}

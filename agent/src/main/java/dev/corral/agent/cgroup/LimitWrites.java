package dev.corral.agent.cgroup;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A set of control-file writes applied all or nothing: each file's previous value is captured before it is
 * written, and a failure restores the files already written, in reverse order (as runc does on update).
 */
final class LimitWrites {

    private static final Logger LOG = LoggerFactory.getLogger(LimitWrites.class);

    private record Write(Path file, String value, Supplier<String> previous) {
    }

    private final List<Write> writes = new ArrayList<>();

    /** @param previous the value that restores the file, read just before the write */
    void add(Path file, String value, Supplier<String> previous) {
        writes.add(new Write(file, value, previous));
    }

    /** For files whose content can be written back as read (single values). */
    void add(Path file, String value) {
        add(file, value, () -> readQuietly(file));
    }

    boolean isEmpty() {
        return writes.isEmpty();
    }

    void apply() throws CgroupException {
        List<Write> done = new ArrayList<>();
        List<String> before = new ArrayList<>();
        for (Write w : writes) {
            String old = w.previous().get();
            try {
                CgroupFiles.write(w.file(), w.value());
            } catch (CgroupException e) {
                rollback(done, before);
                throw e;
            }
            done.add(w);
            before.add(old);
        }
    }

    private static void rollback(List<Write> done, List<String> before) {
        for (int i = done.size() - 1; i >= 0; i--) {
            String old = before.get(i);
            if (old == null) {
                continue;
            }
            try {
                CgroupFiles.write(done.get(i).file(), old);
            } catch (CgroupException e) {
                LOG.warn("rollback of {} to '{}' failed: {}", done.get(i).file(), old, e.getMessage());
            }
        }
    }

    static String readQuietly(Path file) {
        try {
            return CgroupFiles.read(file);
        } catch (CgroupException e) {
            return null;
        }
    }
}

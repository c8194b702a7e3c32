package dev.corral.agent.runtime;

import dev.corral.agent.image.Trees;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecParser;
import dev.corral.agent.spec.SpecValidator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One directory per container under {@code <state>/containers/}, holding container.json (written atomically:
 * temp file, rename; fsync'd or not, see save and saveTransient), the launch config, logs and the monitor's
 * exit.json.
 *
 * <p>The records of live and queued containers are also kept in memory ({@link #active}), as last written: the
 * runtime is the only writer of this directory, and admission control asks for them on every start, which
 * must not read every stored record (exited ones stay until removed, in any number).
 */
public final class StateStore {

    private static final Logger LOG = LoggerFactory.getLogger(StateStore.class);

    private final Path containers;
    private final Path quarantine;
    /** Live and queued records by name (see the class comment); the others are read from disk. */
    private final Map<String, ContainerRecord> active = new ConcurrentHashMap<>();

    public StateStore(Path stateDir) throws IOException {
        this.containers = stateDir.resolve("containers");
        this.quarantine = stateDir.resolve("unreadable-records");
        Files.createDirectories(containers);
        for (ContainerRecord r : list()) {
            remember(r);
        }
    }

    private void remember(ContainerRecord r) {
        if (isActive(r)) {
            active.put(r.name(), r);
        } else {
            active.remove(r.name());
        }
    }

    private static boolean isActive(ContainerRecord r) {
        return r.state().isLive() || r.state() == ContainerState.QUEUED;
    }

    /** The live and queued records, from memory: what admission control weighs a start against. */
    public List<ContainerRecord> active() {
        return List.copyOf(active.values());
    }

    /** The container's directory; the name is validated first so no path escapes the state dir. */
    public Path dir(String name) {
        try {
            SpecValidator.checkName(name, "name");
        } catch (SpecException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        return containers.resolve(name);
    }

    public boolean exists(String name) {
        return Files.exists(dir(name).resolve("container.json"));
    }

    /** Writes the record atomically and durably (fsync of the file and of the directory). */
    public void save(ContainerRecord record) throws IOException {
        write(record, true);
    }

    /**
     * Writes a record that a machine crash makes moot atomically but without fsync: one about to be replaced
     * (CREATING, STARTING, the CREATED of a run) or a RUNNING one. It only has to survive the agent being killed,
     * which the page cache does. After a machine crash the cgroups and processes it describes are gone too, and
     * recovery finds an older record (handled like this one: every live state is recorded as exited), none, or
     * an empty one (delayed allocation: the rename reached the disk, the data not), which
     * {@link #quarantineUnreadable} moves aside. The two fsyncs cost 1.5-2.5 ms each time here.
     */
    public void saveTransient(ContainerRecord record) throws IOException {
        write(record, false);
    }

    private void write(ContainerRecord record, boolean durable) throws IOException {
        Path dir = dir(record.name());
        if (!active.containsKey(record.name())) { // an active one's directory exists
            Files.createDirectories(dir);
        }
        Path tmp = dir.resolve("container.json.tmp");
        byte[] json = SpecParser.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(record);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(json));
            if (durable) {
                ch.force(true);
            }
        }
        Files.move(tmp, dir.resolve("container.json"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        remember(record);
        if (durable) {
            fsyncDir(dir);
        }
    }

    public Optional<ContainerRecord> load(String name) throws IOException {
        ContainerRecord known = active.get(name);
        if (known != null) {
            return Optional.of(known);
        }
        Path file = dir(name).resolve("container.json");
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        return Optional.of(SpecParser.JSON.readValue(file.toFile(), ContainerRecord.class));
    }

    /** Every stored record; unreadable ones are logged and skipped (their directory stays for inspection). */
    public List<ContainerRecord> list() throws IOException {
        List<ContainerRecord> out = new ArrayList<>();
        for (String name : names()) {
            try {
                load(name).ifPresent(out::add);
            } catch (IOException e) {
                LOG.warn("skipping unreadable container record {}: {}", dir(name), e.getMessage());
            }
        }
        return out;
    }

    /** The names of the container directories (anything else in the directory is not ours and is left alone). */
    private List<String> names() throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(containers)) {
            for (Path d : dirs) {
                String name = d.getFileName().toString();
                if (SpecValidator.NAME.matcher(name).matches()) {
                    names.add(name);
                }
            }
        }
        return names;
    }

    /**
     * corral rename: moves the container's directory (one rename(2): the record inside still names the old name
     * until the caller saves the renamed one; {@link #misnamed} finds such a directory after a crash between the two).
     */
    void move(String from, String to) throws IOException {
        Files.move(dir(from), dir(to), StandardCopyOption.ATOMIC_MOVE);
        active.remove(from);
        fsyncDir(containers);
    }

    /** Directories whose record names another container: a rename the agent did not finish, by directory name. */
    Map<String, ContainerRecord> misnamed() throws IOException {
        Map<String, ContainerRecord> out = new java.util.TreeMap<>();
        for (String name : names()) {
            try {
                load(name).filter(r -> !r.name().equals(name)).ifPresent(r -> out.put(name, r));
            } catch (IOException e) {
                // unreadable: quarantineUnreadable's
            }
        }
        return out;
    }

    /** Where {@link #quarantineUnreadable} moves the directories of unreadable records. */
    public Path quarantine() {
        return quarantine;
    }

    /**
     * Moves each container directory whose record cannot be read (see saveTransient: only a machine crash makes
     * one) to {@code <state>/unreadable-records/<name>-<millis>}, logs included, so its name is free again.
     *
     * @return the names moved
     */
    public List<String> quarantineUnreadable() throws IOException {
        List<String> unreadable = new ArrayList<>();
        for (String name : names()) {
            try {
                load(name);
            } catch (IOException e) {
                unreadable.add(name);
            }
        }
        for (String name : unreadable) {
            Files.createDirectories(quarantine);
            Files.move(dir(name), quarantine.resolve(name + "-" + System.currentTimeMillis()),
                    StandardCopyOption.ATOMIC_MOVE);
        }
        return unreadable;
    }

    /**
     * Removes the container's directory, its record last (a removal that fails midway leaves a record to remove
     * again), and makes the removal durable: without the fsync of {@code containers/}, a power cut in the next
     * seconds could bring the directory back and recovery would list the container again, exited, its name taken,
     * after the client was told it was removed.
     */
    public void delete(String name) throws IOException {
        Path dir = dir(name);
        try {
            deleteDir(dir);
        } finally {
            active.remove(name);
            if (Files.exists(dir.resolve("container.json"))) {
                load(name).ifPresent(this::remember); // not removed after all
            }
        }
        fsyncDir(containers);
    }

    /**
     * What the runtime and the monitor put there is unlinked by name (one syscall each: a tree walk stats every
     * entry twice); anything else (rotated logs, a file put there by hand) by a tree walk; the record last.
     */
    private static void deleteDir(Path dir) throws IOException {
        java.io.File d = dir.toFile();
        for (String f : KNOWN_FILES) {
            new java.io.File(d, f).delete();
        }
        java.io.File logs = new java.io.File(d, "logs");
        if (!logs.delete() && logs.exists()) {
            Trees.delete(logs.toPath());
        }
        String[] rest = d.list();
        if (rest == null) {
            return; // gone already
        }
        for (String f : rest) {
            if (!f.equals("container.json")) {
                Trees.delete(dir.resolve(f));
            }
        }
        Files.deleteIfExists(dir.resolve("container.json"));
        Files.deleteIfExists(dir);
    }

    private static final List<String> KNOWN_FILES = List.of("exit.json", "exit.json.tmp", "launch.conf",
            "container.json.tmp", "logs/stdout.log", "logs/stderr.log", "logs/stdout.log.idx", "logs/stderr.log.idx");

    private static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

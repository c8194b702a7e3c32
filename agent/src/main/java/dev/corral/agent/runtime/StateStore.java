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
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One directory per container under {@code <state>/containers/}, holding container.json (written atomically:
 * temp file, rename; fsync'd or not, see save and saveTransient), the launch config, logs and the monitor's
 * exit.json.
 */
public final class StateStore {

    private static final Logger LOG = LoggerFactory.getLogger(StateStore.class);

    private final Path containers;
    private final Path quarantine;

    public StateStore(Path stateDir) throws IOException {
        this.containers = stateDir.resolve("containers");
        this.quarantine = stateDir.resolve("unreadable-records");
        Files.createDirectories(containers);
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
        Files.createDirectories(dir);
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
        if (durable) {
            fsyncDir(dir);
        }
    }

    public Optional<ContainerRecord> load(String name) throws IOException {
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

    public void delete(String name) throws IOException {
        Path dir = dir(name);
        Trees.delete(dir);
        fsyncDir(containers);
    }

    private static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

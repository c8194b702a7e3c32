package dev.corral.agent.policy;

import dev.corral.policies.file.Policy;
import dev.corral.policies.file.PolicyException;
import dev.corral.policies.file.PolicyLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.Optional;

/**
 * Where the policy comes from: a file given with {@code --policy} (read again when its modification time, size
 * or inode changes), or the embedded default. Blocking reads: called off the event loop.
 */
public final class PolicySource {

    private final Path file;
    private Object seen;

    private PolicySource(Path file) {
        this.file = file;
    }

    public static PolicySource embedded() {
        return new PolicySource(null);
    }

    public static PolicySource file(Path file) {
        return new PolicySource(file.toAbsolutePath());
    }

    public String describe() {
        return file == null ? "(embedded) default.json" : file.toString();
    }

    /** Loads the policy now. */
    public Policy load() throws PolicyException {
        if (file == null) {
            return PolicyLoader.embeddedDefault();
        }
        Object version = version();
        try {
            Policy p = PolicyLoader.parse(file.toString(), Files.readAllBytes(file));
            seen = version;
            return p;
        } catch (NoSuchFileException e) {
            seen = version;
            throw new PolicyException(file.toString(), "", "no such file");
        } catch (IOException e) {
            seen = version;
            throw new PolicyException(file.toString(), "", "cannot read: " + e.getMessage());
        } catch (PolicyException e) {
            seen = version;
            throw e;
        }
    }

    /** A new policy when the file changed since the last load; empty when it did not. */
    public Optional<Policy> reloadIfChanged() throws PolicyException {
        if (file == null || Objects.equals(version(), seen)) {
            return Optional.empty();
        }
        return Optional.of(load());
    }

    private Object version() {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return java.util.List.of(a.lastModifiedTime().toMillis(), a.size(), String.valueOf(a.fileKey()));
        } catch (IOException e) {
            return "missing";
        }
    }
}

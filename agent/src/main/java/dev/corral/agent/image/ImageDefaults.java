package dev.corral.agent.image;

import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A spec with its image's defaults filled in. The spec wins field by field: its command replaces the image's
 * entrypoint and cmd together, its env entries override the image's of the same name, its workingDir and user
 * replace the image's.
 */
final class ImageDefaults {

    private ImageDefaults() {
    }

    /** @param layers the image's layer directories, top first (to look user names up in /etc/passwd) */
    static ContainerSpec apply(ContainerSpec s, Image image, List<Path> layers) throws SpecException {
        ImageConfig c = image.config() == null ? ImageConfig.EMPTY : image.config();
        List<String> command = s.command();
        if (command == null) {
            List<String> both = new ArrayList<>();
            if (c.entrypoint() != null) {
                both.addAll(c.entrypoint());
            }
            if (c.cmd() != null) {
                both.addAll(c.cmd());
            }
            if (both.isEmpty()) {
                throw new SpecException("command", "is required: the image " + name(image)
                        + " gives no entrypoint or cmd");
            }
            command = List.copyOf(both);
        }
        Map<String, String> env = s.env();
        if (c.env() != null && !c.env().isEmpty()) {
            Map<String, String> merged = new LinkedHashMap<>();
            for (String e : c.env()) {
                int eq = e.indexOf('=');
                if (eq > 0) {
                    merged.put(e.substring(0, eq), e.substring(eq + 1));
                }
            }
            if (s.env() != null) {
                merged.putAll(s.env());
            }
            env = merged;
        }
        String cwd = s.workingDir() != null ? s.workingDir() : c.workingDir();
        ContainerSpec.User user = s.user() != null || c.user() == null ? s.user() : user(c.user(), image, layers);
        return s.withProcess(command, env, cwd, user);
    }

    /** "uid", "uid:gid", "name", "name:group": names through the image's own /etc/passwd and /etc/group. */
    private static ContainerSpec.User user(String u, Image image, List<Path> layers) throws SpecException {
        int colon = u.indexOf(':');
        String who = colon < 0 ? u : u.substring(0, colon);
        String group = colon < 0 ? null : u.substring(colon + 1);
        long[] pw = who.matches("[0-9]{1,10}") ? new long[] {Long.parseLong(who), -1}
                : lookup(layers, "etc/passwd", who, image, "user");
        long uid = pw[0];
        long gid;
        if (group != null) {
            gid = group.matches("[0-9]{1,10}") ? Long.parseLong(group) : lookup(layers, "etc/group", group, image, "group")[0];
        } else if (pw[1] >= 0) {
            gid = pw[1];
        } else {
            long[] byUid = uidEntry(layers, uid);
            gid = byUid == null ? 0 : byUid[1];
        }
        return new ContainerSpec.User(uid, gid, null);
    }

    /** {id, primary gid or -1} of a name in passwd/group ("name:x:ID:GID:..."). */
    private static long[] lookup(List<Path> layers, String file, String name, Image image, String what)
            throws SpecException {
        for (String line : lines(layers, file)) {
            String[] f = line.split(":", -1);
            if (f.length >= 3 && f[0].equals(name) && f[2].matches("[0-9]{1,10}")) {
                long second = f.length >= 4 && file.endsWith("passwd") && f[3].matches("[0-9]{1,10}")
                        ? Long.parseLong(f[3]) : -1;
                return new long[] {Long.parseLong(f[2]), second};
            }
        }
        throw new SpecException("user", "the image " + name(image) + " runs as " + what + " '" + name
                + "', which its /" + file + " does not have; give user.uid");
    }

    private static long[] uidEntry(List<Path> layers, long uid) {
        for (String line : lines(layers, "etc/passwd")) {
            String[] f = line.split(":", -1);
            if (f.length >= 4 && f[2].equals(Long.toString(uid)) && f[3].matches("[0-9]{1,10}")) {
                return new long[] {uid, Long.parseLong(f[3])};
            }
        }
        return null;
    }

    /** The file as the merged root shows it: the topmost layer that has it, unless a layer above hides it. */
    private static List<String> lines(List<Path> layers, String rel) {
        for (Path layer : layers) {
            Path p = layer.resolve(rel);
            try {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    return Files.readAllLines(p);
                }
                if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    return List.of(); // a whiteout or something that is not a plain file
                }
            } catch (IOException e) {
                return List.of();
            }
        }
        return List.of();
    }

    private static String name(Image image) {
        return image.names().isEmpty() ? image.id().substring(0, 19) : image.names().get(0);
    }
}

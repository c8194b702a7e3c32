package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.corral.agent.image.ImageRef;
import dev.corral.agent.spec.SpecException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code corral image import|ls|inspect|rm}: the daemon's image store. */
@Command(name = "image", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = "Manage images: import, pull, push, save, list, inspect, tag, history, remove, prune.",
        subcommands = {ImageCommand.Import.class, ImageCommand.Ls.class, ImageCommand.Inspect.class,
            ImageCommand.Rm.class, ImageCommand.Tag.class, PullCommand.class, PushCommand.class,
            ImageCommand.Save.class, ImageCommand.History.class, ImageCommand.Prune.class})
public final class ImageCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "image needs a subcommand: import, ls, "
                + "inspect, tag, pull, push, save, history, rm or prune");
    }

    /** References are checked here, so that a typo is a usage error (exit 2), not a request. */
    static void checkRefs(ClientCommand c, List<String> refs) {
        for (String r : refs) {
            try {
                ImageRef.parse(r, "IMAGE");
            } catch (SpecException e) {
                throw c.usage(e.getMessage());
            }
        }
    }

    static String imagePath(String ref) {
        return "/v1/images/" + CorralClient.enc(ref);
    }

    @Command(name = "import", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = {"Import an image from FILE: an OCI image layout (a directory or a tar, as skopeo copy "
                    + "... oci: or podman save --format oci-archive write), a docker save archive, or a root "
                    + "filesystem tarball (one layer); plain or gzip. Prints the image id.",
                "The file is streamed to the daemon, so this works over --host tcp:// too."})
    public static final class Import extends ClientCommand {

        @Parameters(paramLabel = "FILE", arity = "1")
        Path file;

        @Option(names = "--name", paramLabel = "NAME[:TAG]", description = "Name it (default: the name the "
                + "archive gives, if any). The tag defaults to latest.")
        String name;

        @Override
        protected int run(CorralClient client) throws Exception {
            if (name != null) {
                checkRefs(this, List.of(name));
            }
            if (!Files.exists(file)) {
                throw usage("FILE: " + file + " does not exist");
            }
            String uri = "/v1/images" + (name == null ? "" : "?name=" + CorralClient.enc(name));
            JsonNode image;
            if (Files.isDirectory(file)) {
                Path tar = Files.createTempFile("corral-image-", ".tar");
                try {
                    tarDirectory(file, tar);
                    image = client.upload(uri, tar);
                } finally {
                    Files.deleteIfExists(tar);
                }
            } else {
                if (!Files.isReadable(file)) {
                    throw usage("FILE: cannot read " + file);
                }
                image = client.upload(uri, file);
            }
            out().println(image.path("id").asText());
            return 0;
        }

        /** An OCI layout directory as a tar (files, directories and symlinks), to stream it like an archive. */
        static void tarDirectory(Path dir, Path tar) throws IOException {
            try (OutputStream out = Files.newOutputStream(tar);
                 TarArchiveOutputStream t = new TarArchiveOutputStream(out);
                 Stream<Path> walk = Files.walk(dir)) {
                t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                t.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
                for (Path p : (Iterable<Path>) walk.sorted()::iterator) {
                    String rel = dir.relativize(p).toString();
                    if (rel.isEmpty()) {
                        continue;
                    }
                    if (Files.isSymbolicLink(p)) {
                        TarArchiveEntry e = new TarArchiveEntry(rel, org.apache.commons.compress.archivers.tar.TarConstants.LF_SYMLINK);
                        e.setLinkName(Files.readSymbolicLink(p).toString());
                        t.putArchiveEntry(e);
                    } else {
                        TarArchiveEntry e = new TarArchiveEntry(p, rel, LinkOption.NOFOLLOW_LINKS);
                        t.putArchiveEntry(e);
                        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                            try (InputStream in = Files.newInputStream(p)) {
                                in.transferTo(t);
                            }
                        }
                    }
                    t.closeArchiveEntry();
                }
                t.finish();
            }
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = "List images: one row per name (untagged ones as <none>).")
    public static class Ls extends ClientCommand {

        @Option(names = {"-q", "--quiet"}, description = "Print ids only.")
        boolean quiet;

        @Option(names = "--format", paramLabel = "table|json", defaultValue = "table",
                description = "table (default) or json: one JSON object per line, as the API returns them.")
        String format;

        @Override
        protected int run(CorralClient client) throws Exception {
            if (!format.equals("table") && !format.equals("json")) {
                throw usage("--format: '" + format + "' is not table or json");
            }
            JsonNode list = client.get("/v1/images");
            if (quiet) {
                list.forEach(i -> out().println(i.path("id").asText()));
            } else if (format.equals("json")) {
                for (JsonNode i : list) {
                    out().println(ClientJson.write(i));
                }
            } else {
                out().print(table(list, System.currentTimeMillis()));
            }
            return 0;
        }

        static String table(JsonNode images, long now) {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"NAME", "ID", "SIZE", "LAYERS", "CREATED"});
            for (JsonNode i : images) {
                List<String> names = new ArrayList<>();
                i.path("names").forEach(n -> names.add(n.asText()));
                if (names.isEmpty()) {
                    names.add("<none>");
                }
                String id = i.path("id").asText().replaceFirst("^sha256:", "");
                String created = created(i, now);
                for (String n : names) {
                    rows.add(new String[] {n, id.substring(0, Math.min(12, id.length())),
                        Formats.decimalSize(i.path("size").asDouble()), Integer.toString(i.path("layers").size()),
                        created});
                }
            }
            return Formats.table(rows);
        }

        private static String created(JsonNode i, long now) {
            try {
                if (i.path("created").isTextual()) {
                    return Formats.ago(Instant.parse(i.path("created").asText()).toEpochMilli(), now);
                }
            } catch (java.time.format.DateTimeParseException e) {
                // the import time below
            }
            return Formats.ago(i.path("importedAtMillis").asLong(now), now);
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = "Show images as JSON.")
    public static final class Inspect extends ClientCommand {

        @Parameters(paramLabel = "IMAGE", arity = "1..*")
        List<String> refs;

        @Override
        protected int run(CorralClient client) throws Exception {
            checkRefs(this, refs);
            ArrayNode found = ClientJson.array();
            int rc = forEachChecked(refs, r -> found.add(client.get(imagePath(r))));
            if (!found.isEmpty() || rc == 0) {
                out().println(ClientJson.pretty(found));
            }
            return rc;
        }
    }

    @Command(name = "tag", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = "Give IMAGE another name, NAME[:TAG] (taken from the image that had it, if any).")
    public static final class Tag extends ClientCommand {

        @Parameters(index = "0", paramLabel = "IMAGE")
        String ref;

        @Parameters(index = "1", paramLabel = "NAME[:TAG]")
        String name;

        @Override
        protected int run(CorralClient client) throws Exception {
            checkRefs(this, List.of(ref, name));
            client.post(imagePath(ref) + "/tag?name=" + CorralClient.enc(name), null);
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = {"Remove images (or one name of an image that has several).",
                "Refused while a container uses the image; its layers go when no image references them."})
    public static final class Rm extends ClientCommand {

        @Parameters(paramLabel = "IMAGE", arity = "1..*")
        List<String> refs;

        @Option(names = {"-f", "--force"}, description = "An image containers use loses its names (it stays, "
                + "untagged, while they use it) instead of being refused.")
        boolean force;

        @Override
        protected int run(CorralClient client) throws Exception {
            checkRefs(this, refs);
            return forEachChecked(refs, r -> {
                client.delete(imagePath(r) + (force ? "?force=true" : ""));
                out().println(r);
            });
        }
    }

    @Command(name = "save", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = {"Save images to a tar: an OCI image layout with docker save's manifest.json over the "
                    + "same blobs, which docker load, podman load and skopeo (oci-archive:) read.",
                "The blobs are those the images came as: ids and digests are unchanged."})
    public static final class Save extends ClientCommand {

        @Parameters(paramLabel = "IMAGE", arity = "1..*")
        List<String> refs;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write to FILE (default: stdout, "
                + "refused when that is a terminal).")
        Path output;

        @Override
        protected int run(CorralClient client) throws Exception {
            checkRefs(this, refs);
            if (output == null && System.console() != null) {
                throw usage("refusing to write a tar to a terminal: give -o FILE or redirect stdout");
            }
            StringBuilder q = new StringBuilder("/v1/images/save");
            for (String r : refs) {
                q.append(q.indexOf("?") < 0 ? '?' : '&').append("ref=").append(CorralClient.enc(r));
            }
            if (output == null) {
                OutputStream out = new java.io.FileOutputStream(java.io.FileDescriptor.out);
                client.stream(q.toString(), b -> write(out, b));
                out.flush();
                return 0;
            }
            // Into a file beside the target, renamed when complete: a failed save leaves no half archive.
            Path tmp = output.toAbsolutePath().resolveSibling("." + output.getFileName() + ".corral-partial");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                client.stream(q.toString(), b -> write(out, b));
            } catch (ApiException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Files.move(tmp, output, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return 0;
        }

        private static void write(OutputStream out, byte[] b) {
            try {
                out.write(b);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    @Command(name = "history", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = "Show how an image was made: its config's history, newest first, with each layer's size.")
    public static final class History extends ClientCommand {

        @Parameters(paramLabel = "IMAGE", arity = "1")
        String ref;

        @Option(names = "--no-trunc", description = "Do not shorten ids and commands.")
        boolean noTrunc;

        @Option(names = {"-q", "--quiet"}, description = "Print the image id only (its newest row).")
        boolean quiet;

        @Override
        protected int run(CorralClient client) throws Exception {
            checkRefs(this, List.of(ref));
            JsonNode rows = client.get(imagePath(ref) + "/history");
            long now = System.currentTimeMillis();
            List<String[]> table = new ArrayList<>();
            table.add(new String[] {"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"});
            for (JsonNode h : rows) {
                String id = h.path("Id").asText();
                if (quiet) {
                    if (!id.equals("<missing>")) {
                        out().println(noTrunc ? id : id.replaceFirst("^sha256:", "").substring(0, 12));
                    }
                    continue;
                }
                String by = h.path("CreatedBy").asText();
                String created = h.path("Created").asText();
                try {
                    created = created.isEmpty() ? "" : Formats.ago(Instant.parse(created).toEpochMilli(), now);
                } catch (java.time.format.DateTimeParseException e) {
                    // shown as the config gives it
                }
                table.add(new String[] {noTrunc || id.equals("<missing>") ? id
                        : id.replaceFirst("^sha256:", "").substring(0, 12), created,
                    noTrunc || by.length() <= 45 ? by : by.substring(0, 44) + "…",
                    Formats.decimalSize(h.path("Size").asDouble()), h.path("Comment").asText()});
            }
            if (!quiet) {
                out().print(Formats.table(table));
            }
            return 0;
        }
    }

    @Command(name = "prune", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
            description = "Remove images without a name that no container uses (with -a: all images no container "
                    + "uses); their layers and blobs go with them.")
    public static final class Prune extends ClientCommand {

        @Option(names = {"-a", "--all"}, description = "Every image no container uses, not only unnamed ones.")
        boolean all;

        @Option(names = {"-f", "--force"}, description = "Accepted for docker's sake: corral does not ask.")
        boolean force;

        @Override
        protected int run(CorralClient client) throws Exception {
            JsonNode r = client.post("/v1/images/prune" + (all ? "?all=true" : ""), null);
            if (!r.path("ImagesDeleted").isEmpty()) {
                out().println("Deleted Images:");
                r.path("ImagesDeleted").forEach(i -> out().println("deleted: " + i.asText()));
                out().println();
            }
            out().println("Total reclaimed space: " + Formats.decimalSize(r.path("SpaceReclaimed").asDouble()));
            return 0;
        }
    }
}

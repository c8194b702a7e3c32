package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code corral cp}: files between a container and the host, as docker cp: a tar stream over the API (GET/PUT
 * /containers/{name}/archive), the container's side read and written by the daemon confined to the container's
 * root, the host's side by this client as the user running it ({@link CopyArchives}).
 */
@Command(name = "cp", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = {"Copy files and directories between a container and the host, as docker cp: "
                + "corral cp NAME:SRC DEST or corral cp SRC NAME:DEST. The container may be created, running or "
                + "exited. A directory is copied whole; SRC ending in /. copies its contents. DEST - writes (or SRC - "
                + "reads) a tar stream. Symlinks are copied as symlinks; modes and times are kept.",
                "Exit 1 when the copy fails (nothing at SRC, a directory onto a file, ...), 2 on bad usage."})
public final class CpCommand extends ClientCommand {

    @Option(names = {"-a", "--archive"}, description = "Keep the owners (uid:gid) of the source; into a container "
            + "they are mapped through its user namespace (default: the container's root, or you on the host)")
    boolean archive;

    @Parameters(index = "0", paramLabel = "SRC")
    String src;

    @Parameters(index = "1", paramLabel = "DEST")
    String dest;

    /** NAME:PATH, or a host path (absolute or starting with ".", or without ':'), as docker's splitCpArg. */
    record Arg(String container, String path) {
        static Arg of(String a) {
            if (a.startsWith("/") || a.startsWith(".") || a.equals("-")) {
                return new Arg(null, a);
            }
            int colon = a.indexOf(':');
            return colon <= 0 ? new Arg(null, a) : new Arg(a.substring(0, colon), a.substring(colon + 1));
        }
    }

    @Override
    protected int run(CorralClient client) throws Exception {
        Arg from = Arg.of(src);
        Arg to = Arg.of(dest);
        if (from.container() != null && to.container() != null) {
            throw usage("copying between containers is not supported");
        }
        if (from.container() == null && to.container() == null) {
            throw usage("one of SRC and DEST must be NAME:PATH (a container's path)");
        }
        Arg c = from.container() != null ? from : to;
        checkNames(java.util.List.of(c.container()));
        String path = c.path().isEmpty() ? "/" : c.path();
        try {
            return from.container() != null ? copyOut(client, from.container(), path, to.path())
                    : copyIn(client, to.container(), path, from.path());
        } catch (CopyArchives.CopyException e) {
            err().println("corral: " + e.getMessage());
            err().flush();
            return FAILED;
        }
    }

    private static String archiveUri(String container, String path) {
        return containerPath(container) + "/archive?path=" + CorralClient.enc(path);
    }

    private int copyOut(CorralClient client, String container, String path, String dest) throws Exception {
        if (dest.equals("-")) {
            OutputStream stdout = System.out; // raw bytes: PrintStream.write(byte[]) does not encode
            client.stream(archiveUri(container, path), b -> {
                try {
                    stdout.write(b);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            stdout.flush();
            return 0;
        }
        Path tar = Files.createTempFile("corral-cp-", ".tar");
        try {
            try (OutputStream out = Files.newOutputStream(tar)) {
                client.stream(archiveUri(container, path), b -> {
                    try {
                        out.write(b);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
            try (InputStream in = Files.newInputStream(tar)) {
                CopyArchives.extract(in, Path.of(dest), dest.endsWith("/"), path.endsWith("/."), archive);
            }
            return 0;
        } finally {
            Files.deleteIfExists(tar);
        }
    }

    private int copyIn(CorralClient client, String container, String path, String src) throws Exception {
        Path tar = Files.createTempFile("corral-cp-", ".tar");
        try {
            String target;
            if (src.equals("-")) {
                Files.copy(System.in, tar, StandardCopyOption.REPLACE_EXISTING);
                target = path; // docker: a tar on stdin is extracted into DEST, a directory
            } else {
                Path source = Path.of(src);
                if (!Files.exists(source, LinkOption.NOFOLLOW_LINKS)) {
                    throw new CopyArchives.CopyException("lstat " + src + ": no such file or directory");
                }
                boolean srcDir = Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS);
                boolean contents = srcDir && (src.endsWith("/.") || src.equals("."));
                String name;
                JsonNode stat = stat(client, container, path);
                if (stat != null && (stat.path("mode").asLong() & (1L << 31)) != 0) {
                    target = path;
                    name = contents ? null : source.toAbsolutePath().normalize().getFileName().toString();
                } else if (stat != null) {
                    if (srcDir) {
                        throw new CopyArchives.CopyException("cannot copy a directory to a file: " + container + ":"
                                + path);
                    }
                    target = parent(path);
                    name = base(path);
                } else {
                    if (path.endsWith("/") && !srcDir) {
                        throw new CopyArchives.CopyException("no such directory: " + container + ":" + path);
                    }
                    target = parent(path);
                    name = base(path);
                    if (stat(client, container, target) == null) {
                        throw new CopyArchives.CopyException("Could not find the file " + target + " in container "
                                + container);
                    }
                }
                CopyArchives.write(source, name, tar);
            }
            client.upload("PUT", archiveUri(container, target) + (archive ? "&copyUIDGID=true" : ""), tar);
            return 0;
        } finally {
            Files.deleteIfExists(tar);
        }
    }

    /** Docker's PathStat of the container's path, or null when nothing is there. */
    private static JsonNode stat(CorralClient client, String container, String path) throws Exception {
        try {
            return client.get(containerPath(container) + "/archive/stat?path=" + CorralClient.enc(path));
        } catch (ApiException e) {
            if (e.status() == 404 && e.getMessage().startsWith("Could not find the file")) {
                return null;
            }
            throw e;
        }
    }

    private static String trimmed(String path) {
        String t = path.replaceAll("/+$", "");
        return t.isEmpty() ? "/" : t;
    }

    static String parent(String path) {
        String t = trimmed(path);
        int slash = t.lastIndexOf('/');
        return slash < 0 ? "." : slash == 0 ? "/" : t.substring(0, slash);
    }

    static String base(String path) {
        String t = trimmed(path);
        return t.substring(t.lastIndexOf('/') + 1);
    }

}

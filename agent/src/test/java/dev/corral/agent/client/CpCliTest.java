package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.image.Trees;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * corral cp through the CLI against a real agent: a container that plants symlinks to the host's root and to a host
 * file cannot make cp read or write the host (running and exited), and files and directories cross both ways with
 * their modes, into a created container, a running one and out of an exited one.
 */
@Tag("root")
class CpCliTest {

    private static ClientAgentFixture fx;
    private static Path files;

    @BeforeAll
    static void start() throws Exception {
        fx = new ClientAgentFixture();
        files = Files.createTempDirectory("corral-test-cp-files");
        fx.importTwoLayerImage(files, "two:v1");
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (fx != null) {
                fx.close();
            }
        } finally {
            Trees.delete(files);
        }
    }

    @BeforeEach
    void environment() {
        Cli.environment(Map.of("CORRAL_HOST", fx.host()));
    }

    @AfterEach
    void realEnvironment() {
        Cli.realEnvironment();
    }

    @Test
    void aContainersSymlinksNeverReachTheHost() throws Exception {
        // A host file and a host directory the container names by absolute symlinks.
        Path hostDir = Files.createDirectories(Path.of("/var/tmp/corral-test-cp-" + UUID.randomUUID()));
        Path hostFile = Files.writeString(hostDir.resolve("secret"), "host-secret\n");
        String name = "cp-evil-" + UUID.randomUUID().toString().substring(0, 8);
        try {
            Cli.ok("run", "-d", "--name", name, "--image", "two:v1", "sh", "-c", "ln -s / /escape && ln -s "
                    + hostFile + " /x && ln -s /escape" + hostDir + " /hostdir && touch /ready && sleep 600");
            awaitFile(name, "/ready");
            for (String state : new String[] {"running", "exited"}) {
                Path out = Files.createDirectories(files.resolve("out-" + state));
                // The symlink itself comes out, not the host file it names.
                Cli.ok("cp", name + ":/x", out.resolve("x").toString());
                assertThat(Files.isSymbolicLink(out.resolve("x"))).as(state).isTrue();
                assertThat(Files.readSymbolicLink(out.resolve("x"))).isEqualTo(hostFile);
                Files.delete(out.resolve("x"));
                // Through /escape the path resolves in the container's root, where the host file is not.
                Cli.Result read = Cli.run("cp", name + ":/escape" + hostFile, out.resolve("y").toString());
                assertThat(read.code()).as(state + " " + read).isEqualTo(1);
                assertThat(read.errLines()).singleElement().asString().contains("Could not find the file");
                assertThat(out.resolve("y")).doesNotExist();
                Cli.Result dirRead = Cli.run("cp", name + ":/hostdir/secret", out.resolve("z").toString());
                assertThat(dirRead.code()).as(state + " " + dirRead).isEqualTo(1);
                assertThat(out.resolve("z")).doesNotExist();
                // Writes: over the symlink to the host file, into the host's directory through both symlinks.
                Path payload = Files.writeString(files.resolve("payload-" + state), "pwned\n");
                Cli.ok("cp", payload.toString(), name + ":/x");
                Cli.run("cp", payload.toString(), name + ":/escape" + hostDir + "/planted");
                Cli.run("cp", payload.toString(), name + ":/hostdir/planted2");
                Cli.run("cp", payload.toString(), name + ":/escape" + hostFile);
                assertThat(Files.readString(hostFile)).as(state).isEqualTo("host-secret\n");
                try (Stream<Path> l = Files.list(hostDir)) {
                    assertThat(l.map(p -> p.getFileName().toString())).as(state).containsExactly("secret");
                }
                // The write replaced the container's symlink /x with a file of its own.
                Cli.ok("cp", name + ":/x", out.resolve("x").toString());
                assertThat(Files.isSymbolicLink(out.resolve("x"))).isFalse();
                assertThat(Files.readString(out.resolve("x"))).isEqualTo("pwned\n");
                if (state.equals("running")) {
                    Cli.ok("stop", "-t", "1", name);
                    // Put the symlink back for the exited round: through cp itself, from a host-made symlink.
                    Path link = files.resolve("x");
                    Files.deleteIfExists(link);
                    Files.createSymbolicLink(link, hostFile);
                    Cli.ok("cp", link.toString(), name + ":/");
                }
            }
        } finally {
            Cli.run("rm", "-f", name);
            Trees.delete(hostDir);
        }
    }

    @Test
    void filesAndDirectoriesCrossBothWaysWithTheirModes() throws Exception {
        Path src = Files.createDirectories(files.resolve("tree"));
        Files.writeString(src.resolve("plain"), "plain\n");
        Files.setPosixFilePermissions(src.resolve("plain"), PosixFilePermissions.fromString("rw-r-----"));
        Path tool = Files.writeString(src.resolve("tool"), "#!/bin/sh\necho tool-ran\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-x--x"));
        Path sub = Files.createDirectories(src.resolve("sub/deeper"));
        Files.writeString(sub.resolve("f"), "deep\n");
        Files.setPosixFilePermissions(src.resolve("sub"), PosixFilePermissions.fromString("rwx--x---"));
        Files.createSymbolicLink(src.resolve("link"), Path.of("plain"));
        String name = "cp-modes-" + UUID.randomUUID().toString().substring(0, 8);
        try {
            // Into a created container (its overlay), then run what was copied.
            Cli.ok("create", "--name", name, "--image", "two:v1", "sh", "-c", "/tree/tool; stat -c '%a %n' /tree/plain "
                    + "/tree/tool /tree/sub; cat /tree/link /tree/sub/deeper/f /copied; sleep 600");
            Cli.ok("cp", src.toString(), name + ":/");
            Path one = Files.writeString(files.resolve("one"), "one file\n");
            Cli.ok("cp", one.toString(), name + ":/copied");
            Cli.ok("start", name);
            String logs = awaitLogs(name, "one file");
            assertThat(logs).contains("tool-ran\n", "640 /tree/plain\n", "751 /tree/tool\n", "710 /tree/sub\n",
                    "plain\ndeep\none file\n");
            // Into the running container, and both back out of it once exited.
            Cli.ok("cp", one.toString(), name + ":/tree/sub/deeper/");
            Cli.ok("stop", "-t", "1", name);
            Path back = Files.createDirectories(files.resolve("back"));
            Cli.ok("cp", name + ":/tree", back.toString());
            Path tree = back.resolve("tree");
            assertThat(Files.readString(tree.resolve("plain"))).isEqualTo("plain\n");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tree.resolve("plain"))))
                    .isEqualTo("rw-r-----");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tree.resolve("tool"))))
                    .isEqualTo("rwxr-x--x");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tree.resolve("sub"),
                    LinkOption.NOFOLLOW_LINKS))).isEqualTo("rwx--x---");
            assertThat(Files.readSymbolicLink(tree.resolve("link"))).isEqualTo(Path.of("plain"));
            assertThat(Files.readString(tree.resolve("sub/deeper/one"))).isEqualTo("one file\n");
            // A file to a new name, the image's own file (the exited container's overlay, lower layers included).
            Cli.ok("cp", name + ":/etc/replaced", back.resolve("replaced-copy").toString());
            assertThat(Files.readString(back.resolve("replaced-copy"))).isEqualTo("two\n");
            Cli.Result gone = Cli.run("cp", name + ":/etc/gone", back.resolve("gone").toString());
            assertThat(gone.code()).as("the upper layer's whiteout hides it: " + gone).isEqualTo(1);
            Cli.Result dirOnFile = Cli.run("cp", src.toString(), name + ":/copied");
            assertThat(dirOnFile.code()).as(dirOnFile.toString()).isEqualTo(1);
            assertThat(dirOnFile.errLines()).singleElement().asString().contains("cannot copy a directory to a file");
            // Tar streams: DEST - writes one to stdout, SRC - extracts one from stdin into a directory.
            java.io.PrintStream realOut = System.out;
            java.io.InputStream realIn = System.in;
            java.io.ByteArrayOutputStream tarOut = new java.io.ByteArrayOutputStream();
            try {
                System.setOut(new java.io.PrintStream(tarOut, true));
                assertThat(Cli.run("cp", name + ":/tree/sub", "-").code()).isZero();
            } finally {
                System.setOut(realOut);
            }
            java.util.Map<String, Integer> modes = new java.util.TreeMap<>();
            try (var t = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                    new java.io.ByteArrayInputStream(tarOut.toByteArray()))) {
                for (var e = t.getNextEntry(); e != null; e = t.getNextEntry()) {
                    modes.put(e.getName(), e.getMode() & 07777);
                }
            }
            assertThat(modes).containsEntry("sub/", 0710).containsEntry("sub/deeper/f", 0644)
                    .containsKey("sub/deeper/one");
            try {
                System.setIn(new java.io.ByteArrayInputStream(tarOut.toByteArray()));
                Cli.ok("cp", "-", name + ":/tmp");
            } finally {
                System.setIn(realIn);
            }
            Cli.ok("cp", name + ":/tmp/sub/deeper/f", back.resolve("via-stdin").toString());
            assertThat(Files.readString(back.resolve("via-stdin"))).isEqualTo("deep\n");
            Cli.Result noContainer = Cli.run("cp", one.toString(), "nosuch-cp:/");
            assertThat(noContainer.code()).isEqualTo(1);
            Cli.Result both = Cli.run("cp", "a:/x", "b:/y");
            assertThat(both.code()).isEqualTo(2);
        } finally {
            Cli.run("rm", "-f", name);
        }
    }

    @Test
    void anExitedContainersVolumesAreSeenAsDockerSeesThem() throws Exception {
        Path vol = Files.createDirectories(files.resolve("vol"));
        Files.writeString(vol.resolve("data"), "on-host\n");
        Path roVol = Files.createDirectories(files.resolve("rovol"));
        Files.writeString(roVol.resolve("rofile"), "ro-host\n");
        String name = "cp-vol-" + UUID.randomUUID().toString().substring(0, 8);
        try {
            Cli.ok("run", "-d", "--name", name, "--image", "two:v1", "-v", vol + ":/data:rw", "-v", roVol + ":/ro",
                    "sh", "-c", "echo inside > /data/inside; echo layer > /data-less");
            assertThat(Cli.ok("wait", name).out()).isEqualTo("0\n");
            // out of the exited container: what it wrote to its volume, the host's files there, the ro one's
            Path out = Files.createDirectories(files.resolve("vol-out"));
            Cli.ok("cp", name + ":/data/inside", out.resolve("inside").toString());
            assertThat(Files.readString(out.resolve("inside"))).isEqualTo("inside\n");
            Cli.ok("cp", name + ":/data", out.resolve("data-dir").toString());
            assertThat(Files.readString(out.resolve("data-dir/data"))).isEqualTo("on-host\n");
            Cli.ok("cp", name + ":/ro/rofile", out.resolve("rofile").toString());
            assertThat(Files.readString(out.resolve("rofile"))).isEqualTo("ro-host\n");
            Cli.ok("cp", name + ":/data-less", out.resolve("layer").toString()); // the overlay is still under it
            assertThat(Files.readString(out.resolve("layer"))).isEqualTo("layer\n");
            // into it: the rw volume is the host's directory; the ro one is refused with Docker's words
            Path payload = Files.writeString(files.resolve("vol-payload"), "payload\n");
            Cli.ok("cp", payload.toString(), name + ":/data/");
            assertThat(Files.readString(vol.resolve("vol-payload"))).isEqualTo("payload\n");
            Cli.Result ro = Cli.run("cp", payload.toString(), name + ":/ro/");
            assertThat(ro.code()).as(ro.toString()).isEqualTo(1);
            assertThat(ro.err()).contains("mounted volume is marked read-only");
            try (Stream<Path> l = Files.list(roVol)) {
                assertThat(l.map(p -> p.getFileName().toString())).containsExactly("rofile");
            }
            // nothing stays mounted on the host: the shim's mounts were in a namespace of its own
            assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(vol.toString());
        } finally {
            Cli.run("rm", "-f", name);
        }
    }

    private static void awaitFile(String name, String path) throws InterruptedException {
        long end = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < end) {
            if (Cli.run("exec", name, "sh", "-c", "test -e " + path).code() == 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(path + " did not appear in " + name);
    }

    private static String awaitLogs(String name, String text) throws InterruptedException {
        long end = System.nanoTime() + 20_000_000_000L;
        String logs = "";
        while (System.nanoTime() < end) {
            Cli.Result r = Cli.run("logs", name);
            logs = r.out() + r.err();
            if (logs.contains(text)) {
                return logs;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + text + "' in the logs of " + name + ": " + logs);
    }
}

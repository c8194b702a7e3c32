package dev.corral.agent.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.posix.Posix;
import dev.corral.agent.spec.SpecParser;
import dev.corral.agent.spec.SpecValidator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The layer store on a real filesystem: imports of each format, whiteouts as overlayfs reads them (0/0 character
 * devices, the trusted.overlay.opaque xattr), layer sharing, and hostile archives refused with nothing left.
 */
@Tag("root")
class ImageStoreTest {

    private Path state;
    private Path files;
    private ImageStore store;

    @BeforeEach
    void open() throws IOException {
        assertThat(System.getProperty("user.name")).as("image tests need root (mknod, trusted.* xattrs)").isEqualTo("root");
        state = Files.createTempDirectory("corral-test-images");
        files = Files.createTempDirectory("corral-test-archives");
        store = ImageStore.open(state);
    }

    @AfterEach
    void clean() throws IOException {
        Trees.delete(state);
        Trees.delete(files);
    }

    @Test
    void anOciArchiveIsUnpackedWithOverlayWhiteouts() throws Exception {
        Path tar = TestImages.write(files, "oci.tar", TestImages.ociArchive(TestImages.twoLayers(),
                TestImages.twoLayerConfig(), "localhost/two:v1", true));
        Image image = store.importArchive(tar, "two:v1");

        assertThat(image.names()).containsExactly("two:v1");
        assertThat(image.layers()).hasSize(2);
        assertThat(image.config().entrypoint()).containsExactly("/bin/busybox");
        assertThat(image.config().workingDir()).isEqualTo("/opaque");
        Path base = store.layerDir(image.layers().get(0).substring(7));
        Path top = store.layerDir(image.layers().get(1).substring(7));
        assertThat(Files.readString(base.resolve("etc/replaced"))).isEqualTo("one\n");
        assertThat(Files.readString(top.resolve("etc/replaced"))).isEqualTo("two\n");
        assertThat(Files.isSymbolicLink(base.resolve("bin/sh"))).isTrue();
        assertThat(Files.getPosixFilePermissions(base.resolve("bin/busybox")).toString()).contains("OWNER_EXECUTE");
        // The whiteout: a character device 0/0 where the deleted file was.
        assertThat(Files.getAttribute(top.resolve("etc/gone"), "unix:mode", LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(0020000);
        assertThat(Files.getAttribute(top.resolve("etc/gone"), "unix:rdev", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0L);
        assertThat(xattr(top.resolve("opaque"), "trusted.overlay.opaque")).isEqualTo("y");
        assertThat(top.resolve("opaque/.wh..wh..opq")).doesNotExist();
        assertThat(Files.exists(top.resolve("etc/.wh.gone"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(store.list()).containsExactly(image);
        assertThat(store.get("two:v1")).isEqualTo(image);
        assertThat(store.get(image.hex().substring(0, 12))).isEqualTo(image);
    }

    @Test
    void ociAndDockerArchivesOfTheSameContentGiveTheSameRootFilesystem() throws Exception {
        byte[] config = TestImages.twoLayerConfig();
        Path oci = TestImages.write(files, "oci.tar", TestImages.ociArchive(TestImages.twoLayers(), config, null, true));
        Path docker = TestImages.write(files, "docker.tar",
                TestImages.dockerArchive(TestImages.twoLayers(), config, "two:docker"));
        Path otherState = Files.createTempDirectory("corral-test-images");
        try {
            ImageStore other = ImageStore.open(otherState);
            Image a = store.importArchive(oci, "two:oci");
            Image b = other.importArchive(docker, null);
            assertThat(b.names()).containsExactly("two:docker");
            assertThat(b.id()).isEqualTo(a.id());
            assertThat(b.layers()).isEqualTo(a.layers());
            for (String layer : a.layers()) {
                assertThat(tree(other.layerDir(layer.substring(7)))).isEqualTo(tree(store.layerDir(layer.substring(7))))
                        .isNotEmpty();
            }
        } finally {
            Trees.delete(otherState);
        }
    }

    @Test
    void aLayerAlreadyStoredIsNotUnpackedAgainAndIsRemovedWithItsLastImage() throws Exception {
        byte[] base = TestImages.baseLayer();
        Image one = store.importArchive(TestImages.write(files, "one.tar", TestImages.dockerArchive(List.of(base),
                TestImages.config(List.of(base), List.of("true"), List.of(), null), "one:1")), null);
        Path baseDir = store.layerDir(one.layers().get(0).substring(7));
        Object inode = Files.getAttribute(baseDir.resolve("bin/busybox"), "unix:ino");
        Image two = store.importArchive(TestImages.write(files, "two.tar", TestImages.ociArchive(TestImages.twoLayers(),
                TestImages.twoLayerConfig(), null, false)), "two");
        assertThat(two.layers().get(0)).isEqualTo(one.layers().get(0));
        assertThat(Files.getAttribute(baseDir.resolve("bin/busybox"), "unix:ino")).as("not unpacked again")
                .isEqualTo(inode);

        store.remove("one:1");
        assertThat(baseDir.resolve("bin/busybox")).as("still used by two").exists();
        store.remove("two");
        assertThat(store.list()).isEmpty();
        assertThat(layerDirs()).isEmpty();
    }

    @Test
    void concurrentImportsSharingALayerBothLandAndStoreItOnce() throws Exception {
        byte[] base = TestImages.baseLayer();
        Path a = TestImages.write(files, "a.tar", TestImages.ociArchive(TestImages.twoLayers(),
                TestImages.twoLayerConfig(), null, true));
        Path b = TestImages.write(files, "b.tar", TestImages.dockerArchive(List.of(base),
                TestImages.config(List.of(base), List.of("true"), List.of(), null), "b:1"));
        var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 3; round++) {
                var fa = pool.submit(() -> store.importArchive(a, "a:1"));
                var fb = pool.submit(() -> store.importArchive(b, null));
                Image ia = fa.get(60, java.util.concurrent.TimeUnit.SECONDS);
                Image ib = fb.get(60, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(ia.layers().get(0)).isEqualTo(ib.layers().get(0));
                assertThat(store.list()).hasSize(2);
                assertThat(layerDirs()).hasSize(2);
                assertThat(ImageStore.open(state).list()).hasSize(2);
                store.remove("a:1");
                store.remove("b:1");
                assertThat(layerDirs()).isEmpty();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void fileCapabilitiesAndUserXattrsAreKeptOthersDropped() throws Exception {
        // cap_net_raw, permitted and effective (vfs_cap_data v2), as tar --xattrs writes it for ping.
        String cap = new String(new byte[] {1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                StandardCharsets.ISO_8859_1);
        TarArchiveEntry ping = new TarArchiveEntry("ping");
        ping.setMode(0100755);
        ping.setSize(1);
        ping.addPaxHeader("SCHILY.xattr.security.capability", cap);
        ping.addPaxHeader("SCHILY.xattr.user.origin", "test");
        ping.addPaxHeader("SCHILY.xattr.trusted.overlay.redirect", "/etc");
        byte[] tar = new TestImages.Layer().raw(ping, new byte[] {'x'}).tar();
        Image image = store.importArchive(TestImages.write(files, "caps.tar", tar), "caps");
        Path p = store.layerDir(image.layers().get(0).substring(7)).resolve("ping");
        assertThat(Posix.get().getXattr(p, "security.capability")).isEqualTo(cap.getBytes(StandardCharsets.ISO_8859_1));
        assertThat(xattr(p, "user.origin")).isEqualTo("test");
        assertThat(xattr(p, "trusted.overlay.redirect")).isNull();
    }

    @Test
    void aGzippedImageArchiveIsExtractedThenImported() throws Exception {
        byte[] oci = TestImages.ociArchive(TestImages.twoLayers(), TestImages.twoLayerConfig(), null, false);
        Image fromGzip = store.importArchive(TestImages.write(files, "oci.tar.gz", TestImages.gzip(oci)), "gz");
        Image plain = store.importArchive(TestImages.write(files, "oci.tar", oci), "plain");
        assertThat(fromGzip.id()).isEqualTo(plain.id());
        assertThat(store.get("gz").names()).containsExactly("gz:latest", "plain:latest");
    }

    @Test
    void aPlainRootfsTarballIsOneLayer() throws Exception {
        Path tar = TestImages.write(files, "rootfs.tar.gz", TestImages.gzip(TestImages.baseLayer()));
        Image image = store.importArchive(tar, "plain");
        assertThat(image.layers()).containsExactly("sha256:" + Digests.sha256Hex(TestImages.baseLayer()));
        assertThat(Files.readString(store.layerDir(image.layers().get(0).substring(7)).resolve("etc/kept")))
                .isEqualTo("kept\n");
        assertThat(store.importArchive(tar, "plain:again").id()).as("the same content is the same image")
                .isEqualTo(image.id());
        assertThat(store.get("plain:again").names()).containsExactly("plain:latest", "plain:again");
        // No config in a rootfs: created is the import time (what image ls shows), and the config has defaults.
        assertThat(Instant.parse(image.created()).toEpochMilli()).isEqualTo(image.importedAtMillis());
        assertThat(store.get("plain:again").created()).as("kept at a re-import").isEqualTo(image.created());
        assertThat(image.config().env()).containsExactly("PATH=" + SpecValidator.DEFAULT_PATH);
        assertThat(image.config().workingDir()).isEqualTo("/");
        assertThat(image.config().cmd()).isNull();
        String inspected = SpecParser.JSON.writeValueAsString(store.get("plain"));
        assertThat(inspected).doesNotContain("\"created\":null").doesNotContain("\"config\":{}");
    }

    // ---- hostile archives ------------------------------------------------------------------------------

    @Test
    void anEntryWithDotDotIsRefused() throws Exception {
        TarArchiveEntry e = new TarArchiveEntry("etc/../../escaped", true);
        e.setSize(2);
        e.setMode(0100644);
        byte[] tar = new TestImages.Layer().dir("etc").raw(e, "x\n".getBytes(StandardCharsets.UTF_8)).tar();
        refused(TestImages.write(files, "dotdot.tar", tar), "has a '..' component");
        assertThat(state.resolve("images/escaped")).doesNotExist();
    }

    @Test
    void anAbsoluteSymlinkPointingOutCannotBeWrittenThrough() throws Exception {
        Path outside = Files.createDirectory(files.resolve("outside"));
        byte[] tar = new TestImages.Layer().symlink("evil", outside.toString()).file("evil/pwned", "x\n").tar();
        refused(TestImages.write(files, "symlink.tar", tar), "would be written through the symlink 'evil'");
        assertThat(outside.resolve("pwned")).doesNotExist();
    }

    @Test
    void aRelativeSymlinkClimbingOutIsRefused() throws Exception {
        byte[] tar = new TestImages.Layer().dir("etc").symlink("etc/up", "../../../../tmp").tar();
        refused(TestImages.write(files, "up.tar", tar), "points outside the layer");
    }

    @Test
    void anArchiveSymlinkToAHostFileIsRefused() throws Exception {
        byte[] tar = new TestImages.Layer().file("manifest.json", "[{\"Config\":\"c.json\",\"Layers\":[\"x/layer.tar\"]}]")
                .dir("x").symlink("x/layer.tar", "/etc/shadow").tar();
        refused(TestImages.write(files, "outer.tar", tar), "symlink 'x/layer.tar' -> '/etc/shadow' points outside the archive");
        byte[] up = new TestImages.Layer().file("manifest.json", "[]").dir("x").symlink("x/layer.tar", "../../etc/shadow")
                .tar();
        refused(TestImages.write(files, "outer-up.tar", up), "points outside the archive");
    }

    @Test
    void aHardLinkToAHostFileIsRefused() throws Exception {
        byte[] tar = new TestImages.Layer().hardlink("shadow", "/etc/shadow").tar();
        refused(TestImages.write(files, "hard.tar", tar), "is an absolute path");
    }

    @Test
    void aDeviceNodeOutsideDevIsRefused() throws Exception {
        TarArchiveEntry e = new TarArchiveEntry("mem", TarConstants.LF_CHR);
        e.setDevMajor(1);
        e.setDevMinor(1);
        e.setMode(0020666);
        byte[] tar = new TestImages.Layer().raw(e, null).tar();
        refused(TestImages.write(files, "dev.tar", tar), "device node 'mem' outside /dev");
    }

    @Test
    void aLayerNotMatchingItsDigestIsRefused() throws Exception {
        List<byte[]> layers = TestImages.twoLayers();
        byte[] config = TestImages.twoLayerConfig();
        byte[] archive = TestImages.ociArchive(layers, config, null, false);
        // Flip one byte inside the top layer's blob, leaving its name (the digest) as it was.
        byte[] top = layers.get(1);
        int at = indexOf(archive, top) + top.length / 2;
        archive[at] ^= 0x20;
        refused(TestImages.write(files, "mismatch.tar", archive), "does not match its digest");
    }

    @Test
    void aTruncatedArchiveIsRefused() throws Exception {
        byte[] archive = TestImages.ociArchive(TestImages.twoLayers(), TestImages.twoLayerConfig(), null, false);
        byte[] cut = Arrays.copyOf(archive, archive.length / 2);
        refused(TestImages.write(files, "cut.tar", cut), "truncated");
        byte[] rootfs = TestImages.baseLayer();
        refused(TestImages.write(files, "cut-rootfs.tar", Arrays.copyOf(rootfs, rootfs.length / 2)), "truncated");
    }

    @Test
    void whatIsNotATarIsRefused() throws Exception {
        refused(TestImages.write(files, "json.tar", "{}".getBytes(StandardCharsets.UTF_8)), "not a tar archive");
        byte[] noise = new byte[8192];
        new java.util.Random(4).nextBytes(noise);
        refused(TestImages.write(files, "noise.tar", noise), "not a readable tar archive");
    }

    @Test
    void aCrashMidImportLeavesNothingAfterTheNextOpen() throws Exception {
        // What a killed import leaves: staging files and a layer renamed in before images.json was replaced.
        Files.createDirectories(state.resolve("images/tmp/import-x/layer-0/diff/etc"));
        Files.createDirectories(state.resolve("images/layers/" + "a".repeat(64) + "/diff/etc"));
        store = ImageStore.open(state);
        assertThat(store.list()).isEmpty();
        assertThat(layerDirs()).isEmpty();
        try (Stream<Path> s = Files.list(state.resolve("images/tmp"))) {
            assertThat(s.toList()).isEmpty();
        }
    }

    /** The import fails with a message containing {@code why}, and the store is as it was. */
    private void refused(Path archive, String why) throws Exception {
        Image kept = store.importArchive(TestImages.write(files, "kept.tar", TestImages.dockerArchive(
                List.of(TestImages.topLayer()), TestImages.config(List.of(TestImages.topLayer()), List.of("true"),
                        List.of(), null), "kept:1")), null);
        List<String> layersBefore = layerDirs();
        assertThatThrownBy(() -> store.importArchive(archive, "hostile")).isInstanceOf(BadArchiveException.class)
                .hasMessageContaining(why);
        assertThat(store.list()).containsExactly(kept);
        assertThat(layerDirs()).isEqualTo(layersBefore);
        try (Stream<Path> s = Files.list(state.resolve("images/tmp"))) {
            assertThat(s.toList()).as("staging cleaned").isEmpty();
        }
        assertThat(ImageStore.open(state).list()).as("as recorded on disk").containsExactly(kept);
    }

    private List<String> layerDirs() throws IOException {
        try (Stream<Path> s = Files.list(state.resolve("images/layers"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Every path under dir with its type, mode, owner, device, size, content digest, link target and opacity. */
    static Map<String, String> tree(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.naturalOrder()).toList()) {
                Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,rdev,size", LinkOption.NOFOLLOW_LINKS);
                List<String> d = new ArrayList<>(List.of(Integer.toOctalString((Integer) a.get("mode")),
                        a.get("uid").toString(), a.get("gid").toString(), a.get("rdev").toString()));
                if (Files.isSymbolicLink(p)) {
                    d.add("-> " + Files.readSymbolicLink(p));
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    d.add(Digests.sha256Hex(Files.readAllBytes(p)));
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    d.add("opaque=" + xattr(p, "trusted.overlay.opaque"));
                }
                out.put(dir.relativize(p).toString(), String.join(" ", d));
            }
        }
        return out;
    }

    static String xattr(Path p, String name) {
        byte[] v = Posix.get().getXattr(p, name);
        return v == null ? null : new String(v, StandardCharsets.UTF_8);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}

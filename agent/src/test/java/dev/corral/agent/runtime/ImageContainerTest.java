package dev.corral.agent.runtime;

import dev.corral.agent.ContainerException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.image.Image;
import dev.corral.agent.image.TestImages;
import dev.corral.agent.spec.SpecException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Containers on imported images: the overlay the shim mounts in the container's mount namespace shows the
 * merged layers, containers share the lower layers and keep their writes apart, and nothing is left on rm.
 */
@Tag("root")
@Tag("guest") // also runs in the v2 guest (CgroupV2KernelTest)
class ImageContainerTest {

    private RuntimeFixture fx;
    private Path files;
    private Image image;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RuntimeFixture();
        files = Files.createTempDirectory("corral-test-archives");
        image = fx.runtime.images().importArchive(TestImages.write(files, "two.tar", TestImages.ociArchive(
                TestImages.twoLayers(), TestImages.twoLayerConfig(), null, true)), "two:v1");
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            fx.close();
        } finally {
            try (var s = Files.walk(files)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private ContainerRecord runToExit(String json) throws Exception {
        ContainerRecord r = fx.runtime.run(RuntimeFixture.spec(json));
        return fx.runtime.waitFor(r.name()).get(120, TimeUnit.SECONDS);
    }

    private Path rootfsDir(String name) {
        return fx.stateDir.resolve("rootfs").resolve(name);
    }

    @Test
    void aContainerSeesExactlyTheMergedLayers() throws Exception {
        ContainerRecord r = runToExit("{'name':'merged','image':'two:v1','command':['/bin/busybox','sh','-c',"
                + "'busybox ls /etc; busybox cat /etc/replaced; busybox ls -a /opaque; pwd; echo $FROM_IMAGE;"
                + " busybox ls /dev; busybox cat /proc/kcore | busybox wc -c; busybox grep overlay /proc/self/mountinfo']}");
        assertThat(r.exitCode()).as(fx.stdout("merged")).isZero();
        String[] out = fx.stdout("merged").split("\n");
        assertThat(List.of(out).subList(0, 3)).as("etc: gone is whited out, replaced is the top layer's")
                .containsExactly("kept", "passwd", "replaced");
        assertThat(out[3]).isEqualTo("two");
        assertThat(List.of(out).subList(4, 7)).as("opaque: only the top layer's c").containsExactly(".", "..", "c");
        assertThat(out[7]).as("the image's working dir").isEqualTo("/opaque");
        assertThat(out[8]).as("the image's env").isEqualTo("yes");
        assertThat(List.of(out)).contains("null", "zero", "full", "random", "urandom", "tty", "pts", "shm");
        assertThat(List.of(out)).as("/proc/kcore masked").contains("0");
        String root = out[out.length - 1];
        assertThat(root).contains(" - overlay overlay ").contains("lowerdir=")
                .contains(fx.stateDir.resolve("rootfs/merged/upper").toString());
        // Nothing of the container's is mounted on the host.
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(rootfsDir("merged").toString());
    }

    @Test
    void theImageCommandRunsAndTheSpecOverridesItsDefaults() throws Exception {
        ContainerRecord d = runToExit("{'name':'dflt','image':'two:v1'}");
        assertThat(d.exitCode()).isZero();
        assertThat(fx.stdout("dflt")).isEqualTo("default-cmd\n");
        runToExit("{'name':'over','image':'two:v1','workingDir':'/etc','env':{'FROM_IMAGE':'spec'},"
                + "'user':{'uid':1000,'gid':1000},'command':['/bin/busybox','sh','-c','pwd; echo $FROM_IMAGE $PATH; busybox id -u']}");
        assertThat(fx.stdout("over")).isEqualTo("/etc\nspec /bin\n1000\n");
    }

    @Test
    void twoContainersShareTheLowerLayerAndKeepTheirWritesApart() throws Exception {
        String probe = "busybox stat -c %i /bin/busybox; echo written-by-$HOSTNAME > /etc/replaced; busybox cat /etc/replaced";
        runToExit("{'name':'one','image':'two:v1','command':['/bin/busybox','sh','-c','" + probe + "']}");
        ContainerRecord two = runToExit("{'name':'two','image':'two:v1','command':['/bin/busybox','sh','-c',"
                + "'busybox cat /etc/replaced; " + probe + "']}");
        assertThat(two.exitCode()).isZero();
        Path busybox = fx.runtime.images().layerDir(image.layers().get(0).substring(7)).resolve("bin/busybox");
        String hostInode = Files.getAttribute(busybox, "unix:ino").toString();
        String[] one = fx.stdout("one").split("\n");
        String[] other = fx.stdout("two").split("\n");
        assertThat(one[0]).as("the layer store's file itself").isEqualTo(hostInode);
        assertThat(other[1]).isEqualTo(hostInode);
        assertThat(other[0]).as("one's write is not seen by two").isEqualTo("two");
        assertThat(one[1]).isEqualTo("written-by-one");
        assertThat(other[2]).isEqualTo("written-by-two");
        assertThat(Files.readString(rootfsDir("one").resolve("upper/etc/replaced"))).isEqualTo("written-by-one\n");
        assertThat(Files.readString(busybox.getParent().getParent().resolve("etc/replaced"))).as("the layer untouched")
                .isEqualTo("one\n");

        fx.runtime.remove("one", false);
        fx.runtime.remove("two", false);
        assertThat(rootfsDir("one")).doesNotExist();
        assertThat(rootfsDir("two")).doesNotExist();
        assertThat(busybox).as("the layer stays with its image").exists();
    }

    @Test
    void aReadOnlyRootHasNoUpperDirButItsTmpfsIsWritable() throws Exception {
        ContainerRecord r = runToExit("{'name':'ro','image':'two:v1','readOnlyRootfs':true,"
                + "'mounts':[{'type':'tmpfs','target':'/scratch/deep'}],'command':['/bin/busybox','sh','-c',"
                + "'echo x > /etc/new 2>/dev/null && echo wrote || echo refused; echo y > /scratch/deep/f && busybox cat /scratch/deep/f']}");
        assertThat(r.exitCode()).as(fx.stdout("ro")).isZero();
        assertThat(fx.stdout("ro")).isEqualTo("refused\ny\n");
        assertThat(rootfsDir("ro").resolve("upper/etc")).doesNotExist();

        // One layer alone: overlayfs needs two lower dirs without an upper one; the container's init/ is the second.
        Image single = fx.runtime.images().importArchive(TestImages.write(files, "one.tar",
                TestImages.baseLayer()), "single");
        assertThat(single.layers()).hasSize(1);
        ContainerRecord s = runToExit("{'name':'ro1','image':'single','readOnlyRootfs':true,'command':['/bin/busybox',"
                + "'sh','-c','busybox cat /etc/replaced; touch /x 2>/dev/null || echo refused']}");
        assertThat(s.exitCode()).isZero();
        assertThat(fx.stdout("ro1")).isEqualTo("one\nrefused\n");
    }

    @Test
    void anImageInUseCannotBeRemovedAndItsLayersGoWithIt() throws Exception {
        fx.runtime.create(RuntimeFixture.spec("{'name':'user','image':'two:v1','command':['/bin/busybox','true']}"));
        assertThatThrownBy(() -> fx.runtime.images().remove("two:v1")).isInstanceOf(ContainerException.class)
                .hasMessageContaining("used by container user")
                .satisfies(e -> assertThat(((ContainerException) e).kind()).isEqualTo(ContainerException.Kind.CONFLICT));
        fx.runtime.remove("user", false);
        fx.runtime.images().remove("two:v1");
        assertThat(fx.runtime.images().list()).isEmpty();
        try (var s = Files.list(fx.stateDir.resolve("images/layers"))) {
            assertThat(s.toList()).isEmpty();
        }
    }

    @Test
    void specErrorsNameTheField() throws Exception {
        Path dir = Files.createDirectories(files.resolve("root"));
        assertThatThrownBy(() -> fx.runtime.create(RuntimeFixture.spec("{'name':'both','image':'two:v1','rootfs':'"
                + dir + "','command':['true']}"))).isInstanceOf(SpecException.class)
                .satisfies(e -> assertThat(((SpecException) e).field()).isEqualTo("image"));
        assertThatThrownBy(() -> fx.runtime.create(RuntimeFixture.spec("{'name':'none','image':'nope:1'}")))
                .isInstanceOf(SpecException.class).hasMessageContaining("no image 'nope:1'")
                .satisfies(e -> assertThat(((SpecException) e).field()).isEqualTo("image"));
        assertThatThrownBy(() -> fx.runtime.create(RuntimeFixture.spec("{'name':'bad','image':'Bad Name'}")))
                .isInstanceOf(SpecException.class).satisfies(e -> assertThat(((SpecException) e).field()).isEqualTo("image"));
        assertThat(fx.runtime.list()).isEmpty();
        try (var s = Files.list(fx.stateDir.resolve("rootfs"))) {
            assertThat(s.toList()).as("nothing half-made").isEmpty();
        }
    }

    @Test
    void layerPathsWithCommasColonsAndBackslashesAreEscapedInTheOverlayOptions() throws Exception {
        try (RuntimeFixture odd = new RuntimeFixture("corral-test-a,b:c\\d")) {
            odd.runtime.images().importArchive(TestImages.write(files, "odd.tar", TestImages.ociArchive(
                    TestImages.twoLayers(), TestImages.twoLayerConfig(), null, false)), "two:v1");
            ContainerRecord r = odd.runtime.run(RuntimeFixture.spec("{'name':'odd','image':'two:v1',"
                    + "'command':['/bin/busybox','cat','/etc/replaced']}"));
            assertThat(odd.runtime.waitFor(r.name()).get(120, TimeUnit.SECONDS).exitCode()).isZero();
            assertThat(odd.stdout("odd")).isEqualTo("two\n");
        }
    }

    @Test
    void aRestartedAgentRemovesTheRootOfAContainerRemovedMeanwhile() throws Exception {
        runToExit("{'name':'gone','image':'two:v1','command':['/bin/busybox','touch','/made']}");
        assertThat(Files.exists(rootfsDir("gone").resolve("upper/made"), LinkOption.NOFOLLOW_LINKS)).isTrue();
        // An agent that died between deleting the record and the root filesystem.
        fx.runtime.driver().open("gone").remove();
        new StateStore(fx.stateDir).delete("gone");
        fx.restart();
        assertThat(rootfsDir("gone")).doesNotExist();
    }
}

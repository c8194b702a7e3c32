package dev.corral.agent.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What an image's config fills into a spec, and what the spec keeps. */
@Tag("unit")
class ImageDefaultsTest {

    @TempDir
    Path dir;

    private static Image image(ImageConfig c) {
        return new Image("sha256:" + "a".repeat(64), List.of("img:1"), List.of(), 0, null, 0, c);
    }

    private static ContainerSpec spec(List<String> command, Map<String, String> env, ContainerSpec.User user) {
        return new ContainerSpec("c", command, env, null, user, null, null, null, null, null, null, null, null, null,
                "img:1");
    }

    @Test
    void theImageFillsWhatTheSpecLeavesOut() throws Exception {
        ImageConfig c = new ImageConfig(List.of("/bin/app"), List.of("--serve"), List.of("PATH=/bin", "A=1", "B=2"),
                "/srv", "7:8");
        ContainerSpec s = ImageDefaults.apply(spec(null, Map.of("B", "spec"), null), image(c), List.of());
        assertThat(s.command()).containsExactly("/bin/app", "--serve");
        assertThat(s.env()).containsExactly(Map.entry("PATH", "/bin"), Map.entry("A", "1"), Map.entry("B", "spec"));
        assertThat(s.workingDir()).isEqualTo("/srv");
        assertThat(s.user()).isEqualTo(new ContainerSpec.User(7L, 8L, null));

        ContainerSpec own = ImageDefaults.apply(spec(List.of("sh"), null, new ContainerSpec.User(1L, 1L, null)),
                image(c), List.of());
        assertThat(own.command()).as("a spec command replaces entrypoint and cmd").containsExactly("sh");
        assertThat(own.user()).isEqualTo(new ContainerSpec.User(1L, 1L, null));
    }

    @Test
    void userNamesComeFromTheTopmostPasswdThatIsNotHidden() throws Exception {
        Path top = Files.createDirectories(dir.resolve("top/etc"));
        Path base = Files.createDirectories(dir.resolve("base/etc"));
        Files.writeString(base.resolve("passwd"), "root:x:0:0::/:/bin/sh\nweb:x:33:34::/:/bin/sh\n");
        Files.writeString(base.resolve("group"), "root:x:0:\nstaff:x:50:\n");
        Files.writeString(top.resolve("passwd"), "root:x:0:0::/:/bin/sh\nweb:x:1000:1001::/:/bin/sh\n");
        List<Path> layers = List.of(dir.resolve("top"), dir.resolve("base"));
        ImageConfig byName = new ImageConfig(null, List.of("true"), null, null, "web");
        assertThat(ImageDefaults.apply(spec(null, null, null), image(byName), layers).user())
                .isEqualTo(new ContainerSpec.User(1000L, 1001L, null));
        ImageConfig withGroup = new ImageConfig(null, List.of("true"), null, null, "web:staff");
        assertThat(ImageDefaults.apply(spec(null, null, null), image(withGroup), layers).user())
                .isEqualTo(new ContainerSpec.User(1000L, 50L, null));
        ImageConfig missing = new ImageConfig(null, List.of("true"), null, null, "nobody");
        assertThatThrownBy(() -> ImageDefaults.apply(spec(null, null, null), image(missing), layers))
                .isInstanceOf(SpecException.class).hasMessageContaining("user: the image img:1 runs as user 'nobody'");
    }

    @Test
    void anImageWithoutACommandNeedsOneInTheSpec() {
        assertThatThrownBy(() -> ImageDefaults.apply(spec(null, null, null), image(ImageConfig.EMPTY), List.of()))
                .isInstanceOf(SpecException.class)
                .satisfies(e -> assertThat(((SpecException) e).field()).isEqualTo("command"));
    }
}

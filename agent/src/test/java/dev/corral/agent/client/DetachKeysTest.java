package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("unit")
class DetachKeysTest {

    @Test
    void dockersFormatParses() {
        assertThat(DetachKeys.parse("ctrl-p,ctrl-q")).containsExactly(0x10, 0x11);
        assertThat(DetachKeys.parse("ctrl-@,ctrl-[,ctrl-_,a,Z")).containsExactly(0, 27, 31, 'a', 'Z');
        assertThatThrownBy(() -> DetachKeys.parse("ctrl-1")).hasMessageContaining("ctrl-1");
        assertThatThrownBy(() -> DetachKeys.parse("abc")).hasMessageContaining("'abc'");
    }

    /** What a reader of the filtered stream gets until its end, or until it detaches (then it blocks: read in a
     * thread that is left parked). */
    private static String readAll(byte[] in, AtomicBoolean detached) throws Exception {
        InputStream f = DetachKeys.filter(new ByteArrayInputStream(in), DetachKeys.parse(DetachKeys.DEFAULT),
                () -> detached.set(true));
        StringBuilder got = new StringBuilder();
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                byte[] b = new byte[2]; // small reads: a broken-off sequence must carry over
                int n;
                while ((n = f.read(b, 0, b.length)) > 0) {
                    synchronized (got) {
                        got.append(new String(b, 0, n, StandardCharsets.ISO_8859_1));
                    }
                }
                done.complete(null);
            } catch (Exception e) {
                done.completeExceptionally(e);
            }
        });
        t.setDaemon(true);
        t.start();
        for (int i = 0; i < 100 && !done.isDone() && !detached.get(); i++) {
            Thread.sleep(20);
        }
        synchronized (got) {
            return got.toString();
        }
    }

    @Test
    void theSequenceDetachesAndABrokenOffOneIsPassedOn() throws Exception {
        AtomicBoolean detached = new AtomicBoolean();
        assertThat(readAll("ab\u0010xy\u0010\u0010\u0011zz".getBytes(StandardCharsets.ISO_8859_1), detached))
                .isEqualTo("ab\u0010xy\u0010");
        assertThat(detached).isTrue();
        detached.set(false);
        assertThat(readAll("no keys\u0010".getBytes(StandardCharsets.ISO_8859_1), detached))
                .isEqualTo("no keys\u0010"); // cut off by the end: input after all
        assertThat(detached).isFalse();
    }
}

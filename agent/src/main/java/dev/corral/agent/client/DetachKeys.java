package dev.corral.agent.client;

import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;

/**
 * Docker's detach keys ({@code --detach-keys}, default {@code ctrl-p,ctrl-q}): a sequence in the attached stdin
 * that detaches the client and leaves the container running. Bytes of a sequence that breaks off are passed on, as
 * Docker's copier does.
 */
final class DetachKeys {

    static final String DEFAULT = "ctrl-p,ctrl-q";

    private DetachKeys() {
    }

    /**
     * Docker's format: comma-separated keys, each a single character or {@code ctrl-X} with X one of a-z, @, [, \,
     * ], ^, _.
     *
     * @throws IllegalArgumentException naming the bad key
     */
    static byte[] parse(String spec) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String k : spec.split(",", -1)) {
            String key = k.toLowerCase(Locale.ROOT);
            if (key.length() == 1 && key.charAt(0) < 0x80) {
                out.write(k.charAt(0));
            } else if (key.startsWith("ctrl-") && key.length() == 6) {
                char c = key.charAt(5);
                if (c >= 'a' && c <= 'z') {
                    out.write(c - 'a' + 1);
                } else if ("@[\\]^_".indexOf(c) >= 0) {
                    out.write(c == '@' ? 0 : c - '[' + 27);
                } else {
                    throw new IllegalArgumentException("'" + k + "': ctrl- takes a-z, @, [, \\, ], ^ or _");
                }
            } else {
                throw new IllegalArgumentException("'" + k + "' is not a key: a character or ctrl-X");
            }
        }
        return out.toByteArray();
    }

    /**
     * {@code in} with the sequence taken out: once it is read whole, {@code detach} runs and reads block until the
     * JVM exits (an end of input would be the end of the container's stdin; a detach is not).
     */
    static InputStream filter(InputStream in, byte[] keys, Runnable detach) {
        return new FilterInputStream(in) {
            private int matched;
            private byte[] carry = new byte[0]; // passed-on bytes not read yet
            private int carried;
            private boolean detaching;
            private boolean ended;

            @Override
            public int read() throws IOException {
                byte[] b = new byte[1];
                return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                for (;;) {
                    if (carried < carry.length) {
                        int m = Math.min(len, carry.length - carried);
                        System.arraycopy(carry, carried, b, off, m);
                        carried += m;
                        return m;
                    }
                    if (detaching) { // what came before the sequence was read: now the detach
                        detach.run();
                        parkForever();
                    }
                    if (ended) {
                        return -1;
                    }
                    byte[] raw = new byte[Math.max(1, len)];
                    int n = in.read(raw, 0, raw.length);
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    if (n < 0) { // a sequence cut off by the end was input after all
                        out.write(keys, 0, matched);
                        matched = 0;
                        ended = true;
                    }
                    for (int i = 0; i < n && !detaching; i++) {
                        byte c = raw[i];
                        if (keys.length > 0 && c == keys[matched]) {
                            detaching = ++matched == keys.length;
                            continue;
                        }
                        out.write(keys, 0, matched); // a sequence that broke off: its bytes were input after all
                        matched = 0;
                        if (keys.length > 0 && c == keys[0]) {
                            matched = 1;
                        } else {
                            out.write(c);
                        }
                    }
                    carry = out.toByteArray();
                    carried = 0;
                }
            }
        };
    }

    private static void parkForever() {
        Object never = new Object();
        synchronized (never) {
            for (;;) {
                try {
                    never.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("detached");
                }
            }
        }
    }
}

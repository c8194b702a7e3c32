package dev.corral.agent.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Copies what is read to {@code copy}: a layer's blob kept as it is unpacked, read once. */
final class Tee extends java.io.FilterInputStream {
    private final OutputStream copy;

    Tee(InputStream in, OutputStream copy) {
        super(in);
        this.copy = copy;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            copy.write(b);
        }
        return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        int n = super.read(buf, off, len);
        if (n > 0) {
            copy.write(buf, off, n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        return read(new byte[(int) Math.min(n, 8192)]); // never skip: the copy must have every byte
    }
}

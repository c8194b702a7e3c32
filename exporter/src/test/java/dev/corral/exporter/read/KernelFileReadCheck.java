package dev.corral.exporter.read;

import java.nio.file.Path;

/** Run in a child JVM by KernelFileTest: reads a file both ways and prints what it got. */
public final class KernelFileReadCheck {

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        ReadBuffer buf = new ReadBuffer(4096);
        int kept;
        try (KernelFile f = KernelFile.openIfPresent(file)) {
            f.readInto(buf);
            kept = buf.length();
        }
        KernelFile.perRead(file).readInto(buf);
        System.out.println("native=" + NativeReads.available() + " kept=" + kept + " perRead=" + buf.length()
                + " absent=" + (KernelFile.openIfPresent(file.resolveSibling("absent")) == null));
    }
}

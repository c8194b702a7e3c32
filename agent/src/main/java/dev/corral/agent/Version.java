package dev.corral.agent;

import picocli.CommandLine.IVersionProvider;

/** The build's version, from the jar manifest ("dev" when run from classes). */
public final class Version implements IVersionProvider {

    public static String current() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** The API's version: the path prefix of its routes (docs/api.md). */
    public static final String API_VERSION = "v1";

    /**
     * What {@code corral version} shows of one side (the client's, or the daemon's through GET /v1/version): the
     * build, the API, the Java runtime, the OS and architecture, and the kernel.
     */
    public static java.util.Map<String, String> server() {
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        out.put("version", current());
        out.put("apiVersion", API_VERSION);
        out.put("javaVersion", System.getProperty("java.version"));
        out.put("os", System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT));
        out.put("arch", arch());
        try {
            out.put("kernel", java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/osrelease"))
                    .strip());
        } catch (java.io.IOException | RuntimeException e) {
            out.put("kernel", System.getProperty("os.version"));
        }
        return out;
    }

    /** As docker names it: amd64, arm64. */
    private static String arch() {
        String a = System.getProperty("os.arch");
        return switch (a) {
            case "x86_64", "amd64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> a;
        };
    }

    @Override
    public String[] getVersion() {
        return new String[] {"corral " + current()};
    }
}

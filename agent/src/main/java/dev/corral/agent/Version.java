package dev.corral.agent;

import picocli.CommandLine.IVersionProvider;

/** The build's version, from the jar manifest ("dev" when run from classes). */
public final class Version implements IVersionProvider {

    public static String current() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    @Override
    public String[] getVersion() {
        return new String[] {"corral " + current()};
    }
}

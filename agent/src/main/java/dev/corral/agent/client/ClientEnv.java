package dev.corral.agent.client;

import java.util.function.Function;

/** The CLI's environment ({@code CORRAL_HOST}, {@code CORRAL_TOKEN}, {@code run -e NAME}); tests replace it. */
final class ClientEnv {

    /**
     * Null: the process's environment. Not {@code System::getenv} as a default: a method reference made at a client's
     * start spins lambda classes the class-data-sharing archive does not hold (about 10 ms, docs/benchmarks.md "CLI").
     */
    static volatile Function<String, String> getenv;

    private ClientEnv() {
    }

    static String get(String name) {
        Function<String, String> f = getenv;
        return f == null ? System.getenv(name) : f.apply(name);
    }
}

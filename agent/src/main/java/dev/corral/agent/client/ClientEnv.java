package dev.corral.agent.client;

import java.util.function.Function;

/** The CLI's environment ({@code CORRAL_HOST}, {@code CORRAL_TOKEN}, {@code run -e NAME}); tests replace it. */
final class ClientEnv {

    static volatile Function<String, String> getenv = System::getenv;

    private ClientEnv() {
    }

    static String get(String name) {
        return getenv.apply(name);
    }
}

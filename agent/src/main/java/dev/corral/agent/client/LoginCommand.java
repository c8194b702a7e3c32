package dev.corral.agent.client;

import java.io.Console;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code corral login [-u USER] [--password-stdin] [HOST]}: the daemon checks the credentials against the registry
 * (as Docker's POST /auth), then they are stored where {@code docker login} stores them, in the same format
 * ({@link DockerConfig}, mode 0600), and sent with each pull from there on.
 */
@Command(name = "login", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = {"Log in to a registry (HOST[:PORT]; Docker Hub when none is given).",
            "The credentials are checked by the daemon against the registry, then stored in "
                + "$DOCKER_CONFIG/config.json (default ~/.docker/config.json), mode 0600, as docker login stores them."})
public final class LoginCommand extends ClientCommand {

    @Parameters(paramLabel = "HOST[:PORT]", arity = "0..1")
    String server;

    @Option(names = {"-u", "--username"}, paramLabel = "USER")
    String username;

    @Option(names = {"-p", "--password"}, paramLabel = "PASSWORD",
            description = "The password (visible to other users in the process list: prefer --password-stdin).")
    String password;

    @Option(names = "--password-stdin", description = "Read the password from stdin (its last newline removed).")
    boolean passwordStdin;

    static String registry(String server) {
        if (server == null || server.isEmpty() || server.matches("(https?://)?(index\\.)?docker\\.io(/.*)?")) {
            return "registry-1.docker.io";
        }
        return server.replaceFirst("^https?://", "").replaceFirst("/.*$", "");
    }

    @Override
    protected int run(CorralClient client) throws Exception {
        String host = registry(server);
        if (!host.matches("[A-Za-z0-9.-]+(:[0-9]{1,5})?")) {
            throw usage("HOST[:PORT]: '" + server + "' is not a registry host");
        }
        if (passwordStdin && password != null) {
            throw usage("--password and --password-stdin cannot be used together");
        }
        Console console = System.console();
        if (username == null) {
            if (console == null || passwordStdin) {
                throw usage("-u USER is needed when stdin is not a terminal");
            }
            username = console.readLine("Username: ");
        }
        if (passwordStdin) {
            password = readStdin();
        } else if (password == null) {
            if (console == null) {
                throw usage("--password-stdin is needed when stdin is not a terminal");
            }
            char[] p = console.readPassword("Password: ");
            password = p == null ? "" : new String(p);
        } else {
            err().println("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        }
        if (username == null || username.isEmpty() || password.isEmpty()) {
            throw usage("a user name and a password are needed");
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("serveraddress", host);
        body.put("username", username);
        body.put("password", password);
        client.post("/v1/auth", body);
        DockerConfig.store(host, username, password);
        out().println("Login Succeeded");
        return 0;
    }

    private static String readStdin() throws IOException {
        String s = new String(System.in.readNBytes(64 << 10), StandardCharsets.UTF_8);
        return s.endsWith("\r\n") ? s.substring(0, s.length() - 2) : s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }
}

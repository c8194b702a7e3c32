package dev.corral.agent.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.image.ImageRef;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecParser;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code corral pull NAME[:TAG]}: the daemon pulls from the registry; progress is shown per layer (bytes and
 * rate), as {@code docker pull} shows it. Credentials for the registry come from {@code ~/.docker/config.json}'s
 * {@code auths} (as {@code docker login} writes them) and are sent to the daemon with the request.
 */
@Command(name = "pull", mixinStandardHelpOptions = true, versionProvider = dev.corral.agent.Version.class,
        description = {"Pull an image from a registry (HOST[:PORT]/NAME[:TAG]; Docker Hub when no host is given).",
            "Credentials: ~/.docker/config.json (auths), as docker login writes them."})
public final class PullCommand extends ClientCommand {

    @Parameters(paramLabel = "NAME[:TAG]", arity = "1")
    String ref;

    @picocli.CommandLine.Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]",
            description = "The image to take from an image index (default: this machine's, linux/amd64 here).")
    String platform;

    @Override
    protected int run(CorralClient client) throws Exception {
        ImageRef r = named(this, ref, "pull");
        if (platform != null && !platform.matches("[a-z0-9_.-]+/[a-z0-9_.-]+(/[a-z0-9_.-]+)?")) {
            throw usage("--platform: '" + platform + "' is not OS/ARCH[/VARIANT] (e.g. linux/arm64/v8)");
        }
        return pull(client, r, platform, this, out());
    }

    /** NAME[:TAG] for pull or push: a bad one, or an image id, is a usage error. */
    static ImageRef named(ClientCommand c, String ref, String verb) {
        ImageRef r;
        try {
            r = ImageRef.parse(ref, "NAME[:TAG]");
        } catch (SpecException e) {
            throw c.usage(e.getMessage());
        }
        if (r.name() == null) {
            throw c.usage("NAME[:TAG]: '" + ref + "' is an image id; " + verb + " needs a name");
        }
        return r;
    }

    /**
     * For run --pull: pulls {@code image} when the policy says so (always; missing: when the daemon has no such
     * image; never), progress on stderr as docker run shows it. Null when the run may go on, else the exit code.
     */
    static Integer ensure(CorralClient client, String image, String policy, ClientCommand c) throws Exception {
        ImageRef r = ImageRef.parse(image, "--image");
        if (r.name() == null || policy.equals("never") || r.idPrefix() != null && policy.equals("missing")) {
            return null; // an id is never pulled; a hex-only name is tried as an id first
        }
        if (policy.equals("missing")) {
            try {
                client.get("/v1/images/" + CorralClient.enc(image));
                return null;
            } catch (ApiException e) {
                if (e.status() != 404) {
                    throw e;
                }
                c.err().println("Unable to find image '" + r.nameTag() + "' locally");
            }
        }
        int rc = pull(client, r, null, c, c.err());
        return rc == 0 ? null : 125;
    }

    /** Pulls and prints progress; 0 when pulled, else 1 with the error on stderr. Used by run --pull too. */
    static int pull(CorralClient client, ImageRef r, String platform, ClientCommand c, java.io.PrintWriter out)
            throws Exception {
        return transfer(client, r, "pull", platform == null ? "" : "&platform=" + CorralClient.enc(platform), c, out);
    }

    /**
     * POST /v1/images/pull or push, with the registry's credentials from Docker's config, printing the progress
     * stream; 0 when done, else 1 with the error on stderr.
     */
    static int transfer(CorralClient client, ImageRef r, String what, String query, ClientCommand c,
                        java.io.PrintWriter out) throws Exception {
        Map<String, Object> body = DockerConfig.credentials(r.registry());
        Map<String, long[]> started = new HashMap<>(); // id -> {start nanos}
        String[] error = {null};
        ByteArrayOutputStream pending = new ByteArrayOutputStream();
        client.stream("POST", "/v1/images/" + what + "?ref=" + CorralClient.enc(r.nameTag()) + query, body, data -> {
            pending.writeBytes(data);
            String all = pending.toString(StandardCharsets.UTF_8);
            int nl;
            while ((nl = all.indexOf('\n')) >= 0) {
                String line = all.substring(0, nl);
                all = all.substring(nl + 1);
                if (!line.isBlank()) {
                    show(line, started, error, out);
                }
            }
            pending.reset();
            pending.writeBytes(all.getBytes(StandardCharsets.UTF_8));
        }, () -> false);
        if (error[0] != null) {
            c.err().println("corral: " + what + " " + r.nameTag() + ": " + error[0]);
            return FAILED;
        }
        return 0;
    }

    private static void show(String line, Map<String, long[]> started, String[] error, java.io.PrintWriter out) {
        JsonNode n;
        try {
            n = SpecParser.JSON.readTree(line);
        } catch (java.io.IOException e) {
            return;
        }
        if (n.has("error")) {
            error[0] = n.path("error").asText();
            return;
        }
        String status = n.path("status").asText();
        if (status.equals("done")) {
            if (n.has("image")) {
                out.println(n.path("image").path("names").path(0).asText(n.path("image").path("id").asText()));
            }
            return;
        }
        if (n.path("id").isNull() || n.path("id").isMissingNode()) {
            out.println(status);
            return;
        }
        String id = n.path("id").asText();
        long now = System.nanoTime();
        long start = started.computeIfAbsent(id, k -> new long[] {now})[0];
        long cur = n.path("current").asLong();
        long total = n.path("total").asLong();
        if (status.equals("Downloading") || status.equals("Download complete") || status.equals("Pushing")) {
            double secs = Math.max(1e-3, (now - start) / 1e9);
            out.printf("%s: %s %s/%s %s/s%n", id, status, Formats.decimalSize(cur),
                    total > 0 ? Formats.decimalSize(total) : "?", Formats.decimalSize(cur / secs));
        } else {
            out.println(id + ": " + status);
        }
    }
}

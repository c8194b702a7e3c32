package dev.corral.agent.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.corral.agent.network.Attachment;
import dev.corral.agent.network.Network;
import dev.corral.agent.network.NetworkManager;
import dev.corral.agent.spec.SpecException;
import dev.corral.agent.spec.SpecParser;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** /v1/networks: the bridge networks, their containers (addresses, published ports), create and remove. */
final class NetworkRoutes {

    /** A network as the API shows it: its containers by name. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record View(String name, String bridge, String subnet, String gateway, boolean builtin,
                Map<String, Attachment> containers) {
    }

    /** The body of a create. */
    record Create(String name, String subnet) {
    }

    private final NetworkManager networks;
    private final ApiRoutes api;

    NetworkRoutes(NetworkManager networks, ApiRoutes api) {
        this.networks = networks;
        this.api = api;
    }

    /** After the body handler. */
    void addTo(Router r) {
        r.get("/networks").handler(ctx -> api.blocking(ctx, 200, () -> {
            List<View> out = new ArrayList<>();
            for (Network n : networks.list()) {
                out.add(view(n));
            }
            return out;
        }));
        r.post("/networks").handler(ctx -> api.blocking(ctx, 201, () -> {
            Create c = body(ctx);
            return view(networks.create(c.name(), c.subnet()));
        }));
        r.get("/networks/:name").handler(ctx -> api.blocking(ctx, 200,
                () -> view(networks.get(ctx.pathParam("name")))));
        r.delete("/networks/:name").handler(ctx -> api.blocking(ctx, 204, () -> {
            networks.remove(ctx.pathParam("name"));
            return null;
        }));
    }

    private View view(Network n) {
        return new View(n.name(), n.bridge(), n.subnet(), n.gateway(), n.builtin(), networks.containersOf(n.name()));
    }

    private static Create body(RoutingContext ctx) throws SpecException {
        byte[] bytes = RawBody.of(ctx);
        if (bytes.length == 0) {
            throw new SpecException(null, "a JSON body {\"name\": ..., \"subnet\": ...} is needed");
        }
        try {
            return SpecParser.JSON.readValue(bytes, Create.class);
        } catch (IOException e) {
            throw new SpecException(null, "not a network: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }
}

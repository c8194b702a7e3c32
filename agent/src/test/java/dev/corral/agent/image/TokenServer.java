package dev.corral.agent.image;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Docker token service for tests, on 127.0.0.1: {@code GET /token?service=&scope=repository:NAME:ACTIONS} with
 * HTTP basic credentials answers a JWT (RS256, the signing certificate in its x5c header, as distribution's token
 * auth verifies it) granting the asked actions; anonymous requests get a token granting nothing, and wrong
 * credentials a 401. The key and certificate are made here with openssl.
 */
public final class TokenServer implements AutoCloseable {

    static final String SERVICE = "corral-test-registry";
    static final String ISSUER = "corral-test-issuer";

    public final Path cert;
    /** Each request's scope and user ("" when anonymous), as "user scope". */
    public final List<String> requests = new CopyOnWriteArrayList<>();
    private final HttpServer server;
    private final PrivateKey key;
    private final String x5c;
    private final String user;
    private final String password;

    public TokenServer(Path dir, String user, String password) throws Exception {
        this.user = user;
        this.password = password;
        TestRegistry.sh(dir, "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=corral-token -keyout "
                + "token.key -out token.pem");
        cert = dir.resolve("token.pem");
        String pem = Files.readString(dir.resolve("token.key")).replaceAll("-----[A-Z ]+-----|\\s", "");
        key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
        try (var in = Files.newInputStream(cert)) {
            x5c = Base64.getEncoder().encodeToString(CertificateFactory.getInstance("X.509").generateCertificate(in)
                    .getEncoded());
        }
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.createContext("/token", ex -> {
            try {
                String q = ex.getRequestURI().getRawQuery();
                String scope = "";
                for (String kv : q == null ? new String[0] : q.split("&")) {
                    if (kv.startsWith("scope=")) {
                        scope = URLDecoder.decode(kv.substring(6), StandardCharsets.UTF_8);
                    }
                }
                String auth = ex.getRequestHeaders().getFirst("Authorization");
                String who = "";
                if (auth != null) {
                    String up = new String(Base64.getDecoder().decode(auth.replaceFirst("^Basic ", "")),
                            StandardCharsets.UTF_8);
                    if (!up.equals(this.user + ":" + this.password)) {
                        requests.add("refused " + scope);
                        ex.sendResponseHeaders(401, -1);
                        return;
                    }
                    who = this.user;
                }
                requests.add(who + " " + scope);
                byte[] body = ("{\"token\":\"" + token(who, scope) + "\"}").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(200, body.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            } catch (Exception e) {
                ex.sendResponseHeaders(500, -1);
            } finally {
                ex.close();
            }
        });
        server.start();
    }

    public String realm() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
    }

    private String token(String who, String scope) throws Exception {
        ObjectNode header = ImageArchive.JSON.createObjectNode().put("typ", "JWT").put("alg", "RS256");
        header.putArray("x5c").add(x5c);
        long now = System.currentTimeMillis() / 1000;
        ObjectNode claims = ImageArchive.JSON.createObjectNode().put("iss", ISSUER).put("sub", who)
                .put("aud", SERVICE).put("exp", now + 300).put("nbf", now - 10).put("iat", now)
                .put("jti", UUID.randomUUID().toString());
        ArrayNode access = claims.putArray("access");
        String[] s = scope.split(":");
        if (!who.isEmpty() && s.length == 3 && s[0].equals("repository")) {
            ObjectNode a = access.addObject().put("type", "repository").put("name", s[1]);
            ArrayNode actions = a.putArray("actions");
            for (String act : s[2].split(",")) {
                actions.add(act);
            }
        }
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String signing = b64.encodeToString(ImageArchive.JSON.writeValueAsBytes(header)) + "."
                + b64.encodeToString(ImageArchive.JSON.writeValueAsBytes(claims));
        Signature sig = Signature.getInstance("SHA256withRSA");
        sig.initSign(key);
        sig.update(signing.getBytes(StandardCharsets.US_ASCII));
        return signing + "." + b64.encodeToString(sig.sign());
    }

    @Override
    public void close() {
        server.stop(0);
    }
}

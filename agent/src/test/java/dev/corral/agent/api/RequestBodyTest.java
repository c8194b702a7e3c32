package dev.corral.agent.api;

import static dev.corral.agent.testing.TestRoots.HOST_JSON;
import static io.vertx.core.http.HttpMethod.DELETE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.client.HttpTransport;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * A JSON body is read as JSON whatever content type the client claims (curl -d sends a form type), at any size
 * up to the documented 1 MiB; over it, 413, whatever the type.
 */
@Tag("root")
class RequestBodyTest {

    private static AgentFixture fx;

    @BeforeAll
    static void start() throws Exception {
        fx = new AgentFixture();
    }

    @AfterAll
    static void stop() throws Exception {
        fx.close();
    }

    private static HttpTransport.Response post(String contentType, String body) throws Exception {
        return fx.unixTransport().request("POST", "/v1/containers", body.getBytes(StandardCharsets.UTF_8),
                contentType);
    }

    /** A spec of about {@code bytes}: one long argument (it is only created, nothing runs). */
    private static String spec(String name, int bytes) {
        return "{" + HOST_JSON + "\"name\":\"" + name + "\",\"command\":[\"true\",\"" + "x".repeat(bytes) + "\"]}";
    }

    @Test
    void aJsonBodyIsAcceptedAtAnySizeUnderTheLimitWhateverTheContentType() throws Exception {
        String form = "application/x-www-form-urlencoded";
        Object[][] cases = {{form, 100}, {form, 150_000}, {form, 1_000_000}, {"application/json", 150_000},
            {"application/json", 1_000_000}, {"text/plain", 150_000}, {null, 150_000},
            {"multipart/form-data; boundary=xyz", 150_000}};
        int n = 0;
        for (Object[] c : cases) {
            String type = (String) c[0];
            int size = (Integer) c[1];
            String name = "body" + n++;
            HttpTransport.Response r = post(type, spec(name, size));
            assertThat(r.status()).as(type + ", " + size + " bytes: " + r.bodyText()).isEqualTo(201);
            assertThat(new JsonObject(r.bodyText()).getString("name")).isEqualTo(name);
            assertThat(fx.unix(DELETE, "/v1/containers/" + name, null).status()).isEqualTo(204);
        }
    }

    @Test
    void aBodyOverTheLimitIs413WhateverTheContentType() throws Exception {
        for (String type : new String[] {"application/json", "application/x-www-form-urlencoded", null}) {
            HttpTransport.Response r = post(type, spec("toobig", (1 << 20) + 10));
            assertThat(r.status()).as(String.valueOf(type)).isEqualTo(413);
            assertThat(new JsonObject(r.bodyText()).getString("error")).contains("1048576 bytes");
        }
    }

    /** Chunked, with no length to refuse up front: counted as it comes. */
    @Test
    void aChunkedBodyOverTheLimitIs413AndOneUnderItIsRead() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        for (int size : new int[] {150_000, (1 << 20) + 10}) {
            byte[] body = spec("chunked", size).getBytes(StandardCharsets.UTF_8);
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + fx.agent.httpPort() + "/v1/containers"))
                    .header("authorization", "Bearer " + fx.token())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(size + " bytes: " + r.body()).isEqualTo(size < (1 << 20) ? 201 : 413);
        }
        assertThat(fx.unix(DELETE, "/v1/containers/chunked", null).status()).isEqualTo(204);
    }

    @Test
    void aBodyThatIsNotJsonIsA400SayingSo() throws Exception {
        HttpTransport.Response r = post("application/x-www-form-urlencoded", "name=x&command=true");
        assertThat(r.status()).isEqualTo(400);
        assertThat(new JsonObject(r.bodyText()).getString("error")).doesNotContain("form body?");
    }
}

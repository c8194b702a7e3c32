package dev.corral.agent.server;

import dev.corral.agent.cli.Version;
import dev.corral.exporter.Exporter;
import dev.corral.exporter.metrics.ContainerNames;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** The running daemon: the exporter's collector thread plus the Vert.x HTTP server. */
public final class Agent implements AutoCloseable {

    private final Vertx vertx;
    private final Exporter exporter;
    private final HttpServer http;

    private Agent(Vertx vertx, Exporter exporter, HttpServer http) {
        this.vertx = vertx;
        this.exporter = exporter;
        this.http = http;
    }

    public static Agent start(AgentOptions options) throws IOException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Exporter exporter = Exporter.start(options.exporter(), registry, ContainerNames.NONE, Version.current());
        Vertx vertx = Vertx.vertx();
        try {
            HttpServer http = vertx.createHttpServer()
                    .requestHandler(HttpRoutes.router(vertx, registry, exporter, options.exporter().interval()))
                    .listen(options.httpPort(), options.httpHost())
                    .await(30, TimeUnit.SECONDS);
            return new Agent(vertx, exporter, http);
        } catch (Exception e) {
            exporter.close();
            closeQuietly(vertx);
            throw new IOException("cannot listen on " + options.httpHost() + ":" + options.httpPort() + ": "
                    + e.getMessage(), e);
        }
    }

    public int httpPort() {
        return http.actualPort();
    }

    public Exporter exporter() {
        return exporter;
    }

    @Override
    public void close() {
        try {
            http.close().await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // closing anyway
        }
        exporter.close();
        closeQuietly(vertx);
    }

    private static void closeQuietly(Vertx vertx) {
        try {
            vertx.close().await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // nothing more to release; the process is stopping
        }
    }
}

package dev.corral.agent.server;

import io.vertx.core.Future;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Blocks a non-Vert.x thread on a Vert.x future. Not {@code Future.await(timeout)}: in Vert.x 5.0.7 it was seen
 * to miss a completion now and then (the API fuzz test waited 60 s for answers the server had sent), while
 * waiting through the completion stage never did.
 */
public final class Futures {

    private Futures() {
    }

    public static <T> T get(Future<T> future, Duration timeout) throws Exception {
        try {
            return future.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        } catch (TimeoutException e) {
            throw new TimeoutException("no result within " + timeout.toMillis() + " ms");
        }
    }
}

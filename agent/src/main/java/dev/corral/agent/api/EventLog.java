package dev.corral.agent.api;

import dev.corral.agent.runtime.ContainerEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** The recent container events (for replay) and the live subscribers of the event stream. */
public final class EventLog implements Consumer<ContainerEvent> {

    static final int KEPT = 1000;

    private final Deque<ContainerEvent> recent = new ArrayDeque<>();
    private final List<Consumer<ContainerEvent>> subscribers = new CopyOnWriteArrayList<>();

    @Override
    public void accept(ContainerEvent e) {
        synchronized (recent) {
            recent.addLast(e);
            if (recent.size() > KEPT) {
                recent.removeFirst();
            }
        }
        subscribers.forEach(s -> s.accept(e));
    }

    /** Subscribes and returns the kept events after {@code sinceMillis}, atomically, so none is missed. */
    public List<ContainerEvent> subscribe(Consumer<ContainerEvent> subscriber, long sinceMillis) {
        synchronized (recent) {
            subscribers.add(subscriber);
            List<ContainerEvent> replay = new ArrayList<>();
            for (ContainerEvent e : recent) {
                if (e.timeMillis() > sinceMillis) {
                    replay.add(e);
                }
            }
            return replay;
        }
    }

    public void unsubscribe(Consumer<ContainerEvent> subscriber) {
        subscribers.remove(subscriber);
    }
}

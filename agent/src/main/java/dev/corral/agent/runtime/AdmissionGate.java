package dev.corral.agent.runtime;

import java.util.List;

/** Asked before a container starts whether it may; a refusal is a {@link ContainerException} saying why. */
@FunctionalInterface
public interface AdmissionGate {

    AdmissionGate OPEN = (starting, running) -> { };

    /** @param running the containers running now (the starting one excluded) */
    void admit(ContainerRecord starting, List<ContainerRecord> running) throws ContainerException;
}

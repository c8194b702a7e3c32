package dev.corral.agent.policy;

import dev.corral.policies.engine.Audit;
import dev.corral.policies.engine.Decision;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Map;
import java.util.function.Function;

/**
 * corral_policy_actions_total{policy,action,reason}, corral_policy_cpu_entitled_cores{id,name} and
 * corral_policy_dominant_share{id,name} (docs/metrics.md).
 */
final class PolicyMetrics {

    private final MeterRegistry registry;
    private final StableGauges entitled;
    private final StableGauges dominant;

    PolicyMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.entitled = new StableGauges(registry, "corral.policy.cpu.entitled.cores",
                "Weighted max-min fair CPU share of the container, in cores");
        this.dominant = new StableGauges(registry, "corral.policy.dominant.share",
                "The container's dominant share of the host: the larger of its cpu and memory "
                        + "fractions (guaranteed or used)");
    }

    void counted(Audit a) {
        Counter.builder("corral.policy.actions").description("Actions the policies decided (dry runs included)")
                .tags("policy", a.policy(), "action", a.action(), "reason", a.reason()).register(registry).increment();
    }

    /**
     * corral_policy_foreign_actions_total{policy,action,reason,runtime,mode}: what the policies decided for
     * containers of other runtimes; mode "observe" for the dry runs an observe class exports, "govern" for
     * actions applied.
     */
    void foreignCounted(Audit a, String runtime) {
        Counter.builder("corral.policy.foreign.actions")
                .description("Actions the policies decided for containers other runtimes started, by mode")
                .tags("policy", a.policy(), "action", a.action(), "reason", a.reason(), "runtime", runtime,
                        "mode", a.dryRun() ? "observe" : "govern")
                .register(registry).increment();
    }

    void shares(Decision d, Function<String, String> nameOfCgroup) {
        entitled.set(rows(d.entitledCores(), nameOfCgroup));
        dominant.set(rows(d.dominantShare(), nameOfCgroup));
    }

    private static Map<Tags, Double> rows(Map<String, Double> values, Function<String, String> names) {
        Map<Tags, Double> rows = new java.util.HashMap<>();
        values.forEach((id, v) -> rows.put(Tags.of("id", id, "name", names.apply(id)), v));
        return rows;
    }
}

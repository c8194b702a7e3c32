package dev.corral.policies.engine;

import static dev.corral.policies.engine.Recorded.GIB;
import static dev.corral.policies.engine.Recorded.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.corral.policies.file.Policy;
import dev.corral.policies.file.PolicyException;
import dev.corral.policies.file.PolicyLoader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Classes selecting containers of other runtimes; observe and govern modes; owners' critical marks. */
@Tag("unit")
class ForeignModesTest {

    private static Policy parse(String json) throws PolicyException {
        return PolicyLoader.parse("t.json", json.replace('\'', '"').getBytes(StandardCharsets.UTF_8));
    }

    private static ContainerView docker(String name, String image, String namespace, Map<String, String> labels) {
        String cgroup = "/docker/" + name;
        return new ContainerView(cgroup, cgroup, labels, ContainerView.Baseline.NONE,
                new ContainerView.Foreign("docker", name, image, namespace));
    }

    @Test
    void selectorsMatchRuntimeNameImageLabelsAndNamespaceAndACatchAllTakesOnlyCorralsOwn() throws Exception {
        Policy p = parse("{'classes':["
                + "{'name':'kube','selector':{'runtimes':['docker','cri'],'namespaces':['kube-*']}},"
                + "{'name':'web','mode':'govern','selector':{'runtimes':['docker'],'names':['web-*'],"
                + "'images':['nginx:*']}},"
                + "{'name':'teams','selector':{'runtimes':['*'],'labels':{'team':'blue'}}},"
                + "{'name':'mine','selector':{'names':['web-*']}},"
                + "{'name':'rest'}]}");
        assertThat(p.classOf(docker("dns", "coredns", "kube-system", Map.of()).subject())).hasValueSatisfying(
                c -> assertThat(c.name()).isEqualTo("kube"));
        assertThat(p.classOf(docker("web-1", "nginx:1.25", "", Map.of()).subject())).hasValueSatisfying(
                c -> assertThat(c.name()).isEqualTo("web"));
        // the image must match too: a web-* of another image falls through to the label class, or to none
        assertThat(p.classOf(docker("web-2", "httpd:2", "", Map.of("team", "blue")).subject())).hasValueSatisfying(
                c -> assertThat(c.name()).isEqualTo("teams"));
        assertThat(p.classOf(docker("web-3", "httpd:2", "", Map.of()).subject())).isEmpty();
        // Corral's own: names without runtimes, and the catch-all
        assertThat(p.classOf("web-1", Map.of()).name()).isEqualTo("mine");
        assertThat(p.classOf("db", Map.of()).name()).isEqualTo("rest");
        assertThat(p.classOf("db", Map.of("team", "blue")).name()).isEqualTo("teams"); // runtimes '*': Corral too
    }

    @Test
    void modeDefaultsToObserveForForeignAndGovernForOwnAndBadValuesAreNamed() throws Exception {
        Policy p = parse("{'classes':[{'name':'a','selector':{'runtimes':['docker']}},"
                + "{'name':'b','mode':'observe'}]}");
        assertThat(p.classes().get(0).governs(true)).isFalse();
        assertThat(p.classes().get(0).governs(false)).isTrue();
        assertThat(p.classes().get(1).governs(false)).isFalse();
        assertThatThrownBy(() -> parse("{'classes':[{'name':'a','mode':'rule'}]}"))
                .hasMessageContaining("classes[0].mode").hasMessageContaining("\"govern\" or \"observe\"");
        assertThatThrownBy(() -> parse("{'classes':[{'name':'a','selector':{'images':['']}}]}"))
                .hasMessageContaining("images");
    }

    private static final String CPU = "{'classes':["
            + "{'name':'watched','weight':3,'selector':{'runtimes':['docker'],'names':['seen-*']}},"
            + "{'name':'ruled','weight':3,'mode':'govern','selector':{'runtimes':['docker'],'names':['ruled-*']}}],"
            + "'policies':{'memoryPressure':{'enabled':false},'oomProtection':{'enabled':false},"
            + "'ioFairness':{'enabled':false}}}";

    @Test
    void anObservedContainerGetsDryRunDecisionsAGovernedOneRealOnesAndAnUnselectedOneNone() throws Exception {
        Recorded r = new Recorded(CPU, Recorded.v1Host(2, 24 * GIB), 500, false);
        Recorded.Cg seen = foreign(r, "seen-1");
        Recorded.Cg ruled = foreign(r, "ruled-1");
        Recorded.Cg other = foreign(r, "other-1");
        Decision d = r.cycle(r.cpu(0, seen, 1.0, ruled, 1.0, other, 1.0));
        List<Action.SetCpu> sets = Recorded.of(d, Action.SetCpu.class);
        assertThat(sets).extracting(Action::cgroup).containsExactlyInAnyOrder(seen.path, ruled.path);
        assertThat(sets).allSatisfy(a -> assertThat(a.shares()).isEqualTo(3072L));
        assertThat(sets).filteredOn(a -> a.cgroup().equals(seen.path)).singleElement()
                .satisfies(a -> assertThat(a.audit().dryRun()).isTrue());
        assertThat(sets).filteredOn(a -> a.cgroup().equals(ruled.path)).singleElement()
                .satisfies(a -> assertThat(a.audit().dryRun()).isFalse());
        assertThat(d.entitledCores()).containsKeys(seen.path, ruled.path).doesNotContainKey(other.path);
    }

    private static Recorded.Cg foreign(Recorded r, String name) {
        return foreign(r, name, Map.of());
    }

    private static Recorded.Cg foreign(Recorded r, String name, Map<String, String> labels) {
        Recorded.Cg cg = new Recorded.Cg("/docker/" + name);
        r.cgroups.put(cg.path, cg);
        r.containers.add(new ContainerView(cg.path, cg.path, labels, ContainerView.Baseline.NONE,
                new ContainerView.Foreign("docker", name, "busybox", "")));
        return cg;
    }

    @Test
    void oomProtectionNeverKillsWhatTheOwnerMarksCriticalAndAnObservedVictimDoesNotDelayAGovernedOne()
            throws Exception {
        Recorded r = new Recorded("{'classes':["
                + "{'name':'pods','mode':'govern','selector':{'runtimes':['docker']}},"
                + "{'name':'own','priority':5}],"
                + "'policies':{'cpuFairness':{'enabled':false},'memoryPressure':{'enabled':false},"
                + "'ioFairness':{'enabled':false},'oomProtection':{'minAvailable':'1g'}}}",
                Recorded.v1Host(2, 24 * GIB), 250, false);
        Recorded.Cg critical = foreign(r, "apiserver", Map.of("io.kubernetes.pod.priorityClassName",
                "system-node-critical"));
        Recorded.Cg hog = foreign(r, "hog");
        critical.workingSet = 900 * MIB;
        hog.workingSet = 100 * MIB;
        r.availableBytes = 512 * MIB; // below minAvailable
        List<Action.Stop> stops = Recorded.of(r.cycle(() -> { }), Action.Stop.class);
        assertThat(stops).singleElement().satisfies(s -> {
            assertThat(s.cgroup()).isEqualTo(hog.path);
            assertThat(s.audit().dryRun()).isFalse();
        });

        Recorded o = new Recorded("{'classes':["
                + "{'name':'pods','selector':{'runtimes':['docker']}},"
                + "{'name':'own','priority':5}],"
                + "'policies':{'cpuFairness':{'enabled':false},'memoryPressure':{'enabled':false},"
                + "'ioFairness':{'enabled':false},'oomProtection':{'minAvailable':'1g'}}}",
                Recorded.v1Host(2, 24 * GIB), 250, false);
        Recorded.Cg watched = foreign(o, "big");
        Recorded.Cg mine = o.container("mine", Map.of());
        watched.workingSet = 900 * MIB;
        mine.workingSet = 100 * MIB;
        o.availableBytes = 512 * MIB;
        stops = Recorded.of(o.cycle(() -> { }), Action.Stop.class);
        assertThat(stops).extracting(s -> s.cgroup() + " " + s.audit().dryRun())
                .containsExactly(watched.path + " true", mine.path + " false");
    }

    @Test
    void ownerValuesAreRecordedRestoredAndARewriteIsBackedOffFromNotFought() {
        OwnerValues o = new OwnerValues();
        o.wrote("/docker/a", "cpu.shares", "1024", "3072");
        o.wrote("/docker/a", "cpu.shares", "3072", "2048"); // a second write keeps the first owner value
        assertThat(o.ownerValue("/docker/a", "cpu.shares")).isEqualTo("1024");
        assertThat(o.check(1, "/docker/a", "a", Map.of("cpu.shares", "2048"))).isEmpty();
        List<Audit> backOff = o.check(2, "/docker/a", "a", Map.of("cpu.shares", "512"));
        assertThat(backOff).singleElement().satisfies(a -> {
            assertThat(a.action()).isEqualTo("back-off");
            assertThat(a.reason()).isEqualTo("owner-rewrote");
            assertThat(a.before()).isEqualTo("2048");
            assertThat(a.after()).isEqualTo("512");
        });
        assertThat(o.mayWrite("/docker/a", "cpu.shares")).isFalse();
        assertThat(o.release("/docker/a")).isEmpty(); // the owner's new value stands: nothing to restore

        o.wrote("/docker/b", "memory.limit_in_bytes", "268435456", "134217728");
        o.wrote("/docker/b", "memory.soft_limit_in_bytes", "9223372036854771712", "100000768");
        o.wrote("/docker/b", "memory.soft_limit_in_bytes", "100000768", "9223372036854771712"); // lifted by a rule
        assertThat(o.release("/docker/b")).singleElement().isEqualTo(new OwnerValues.Restore("/docker/b",
                "memory.limit_in_bytes", "268435456", "134217728"));
        assertThat(o.cgroups()).isEmpty();
    }
}

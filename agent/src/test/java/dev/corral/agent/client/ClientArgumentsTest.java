package dev.corral.agent.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.corral.agent.spec.ContainerSpec;
import dev.corral.agent.spec.SpecParser;
import dev.corral.agent.spec.SpecValidator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.ParameterException;

/** Flags to specs and limit patches, without a daemon. */
@Tag("unit")
class ClientArgumentsTest {

    private static final long MIB = 1L << 20;

    @BeforeEach
    void environment() {
        Cli.environment(Map.of("FROM_ENV", "value", "CORRAL_HOST", "unix:///nonexistent/corral-test.sock"));
    }

    @AfterEach
    void realEnvironment() {
        Cli.realEnvironment();
    }

    private static ContainerSpec runSpec(String... args) {
        return Cli.runSpec(args);
    }

    private static JsonNode json(Object value) throws Exception {
        return SpecParser.JSON.readTree(SpecParser.JSON.writeValueAsString(value));
    }

    private static JsonNode json(String text) throws Exception {
        return SpecParser.JSON.readTree(text.replace('\'', '"'));
    }

    @Test
    void everyRunFlagLandsInTheSpec() throws Exception {
        ContainerSpec spec = runSpec("--name", "web", "-m", "256m", "--memory-reservation", "128m",
                "--memory-swap", "512m", "--cpus", "1.5", "--cpu-period", "50000", "--cpu-shares", "512",
                "--cpuset-cpus", "0-1", "--cpuset-mems", "0", "--pids-limit", "100",
                "--device-read-bps", "/dev/vda:5m", "--device-write-bps", "/dev/vda:1mb",
                "--device-read-iops", "8:16:100", "--device-write-iops", "/dev/vda:200", "--blkio-weight", "300",
                "--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN", "--hostname", "box",
                "-e", "A=1", "-e", "B=", "-e", "FROM_ENV", "-e", "MISSING", "-v", "/srv:/data",
                "-v", "/var/log:/logs:rw", "--tmpfs", "/scratch:size=64m,mode=1777", "--tmpfs", "/t", "--read-only",
                "--rootfs", "/tmp", "--network", "host", "--label", "tier=web", "--label", "flag", "-w", "/data",
                "-u", "1000:100", "sh", "-c", "echo hi");
        assertThat(json(spec)).isEqualTo(json("""
                {'name':'web','command':['sh','-c','echo hi'],'env':{'A':'1','B':'','FROM_ENV':'value'},
                 'workingDir':'/data','user':{'uid':1000,'gid':100},'hostname':'box',
                 'labels':{'tier':'web','flag':''},'rootfs':'/tmp','readOnlyRootfs':true,
                 'namespaces':{'network':'host'},
                 'limits':{'memory':{'max':268435456,'swap':268435456,'reservation':134217728},
                   'cpu':{'cpus':1.5,'period':50000,'shares':512,'cpusetCpus':'0-1','cpusetMems':'0'},
                   'io':{'weight':300,'devices':[
                      {'device':'/dev/vda','readBps':5242880,'writeBps':1048576,'writeIops':200},
                      {'device':'8:16','readIops':100}]},
                   'pids':{'max':100}},
                 'security':{'capAdd':['NET_ADMIN'],'capDrop':['CHOWN']},
                 'mounts':[{'type':'bind','source':'/srv','target':'/data','readOnly':true},
                   {'type':'bind','source':'/var/log','target':'/logs','readOnly':false},
                   {'type':'tmpfs','target':'/scratch','size':67108864,'mode':'1777'},
                   {'type':'tmpfs','target':'/t'}]}"""));
        // What the CLI sends is what the daemon's strict parser reads back.
        assertThat(SpecParser.parse(SpecParser.JSON.writeValueAsBytes(spec))).isEqualTo(spec);
    }

    @Test
    void aBareRunSendsOnlyNameAndCommand() throws Exception {
        assertThat(json(runSpec("--name", "a", "true"))).isEqualTo(json("{'name':'a','command':['true']}"));
    }

    @Test
    void everythingAfterTheCommandBelongsToIt() {
        ContainerSpec spec = runSpec("-m", "64m", "sh", "-c", "echo hi", "--memory", "1g", "-d");
        assertThat(spec.command()).containsExactly("sh", "-c", "echo hi", "--memory", "1g", "-d");
        assertThat(spec.limits().memory().max()).isEqualTo(64 * MIB);
        assertThat(runSpec("--", "ls", "-l").command()).containsExactly("ls", "-l");
    }

    @Test
    void memorySwapIsDockersTotalOfMemoryAndSwap() {
        assertThat(runSpec("-m", "256m", "--memory-swap", "1g", "x").limits().memory().swap()).isEqualTo(768 * MIB);
        assertThat(runSpec("-m", "256m", "--memory-swap", "256m", "x").limits().memory().swap()).as("no swap").isZero();
        assertThat(runSpec("-m", "256m", "--memory-swap", "-1", "x").limits().memory().swap())
                .as("unlimited").isEqualTo(Long.MAX_VALUE);
        assertThat(runSpec("--memory-swap", "-1", "x").limits().memory().swap()).isEqualTo(Long.MAX_VALUE);
        assertThat(runSpec("-m", "256m", "x").limits().memory().swap()).as("the daemon's default").isNull();
        assertThatThrownBy(() -> runSpec("-m", "256m", "--memory-swap", "128m", "x"))
                .isInstanceOf(ParameterException.class).hasMessageContaining("at least --memory");
        assertThatThrownBy(() -> runSpec("--memory-swap", "1g", "x"))
                .isInstanceOf(ParameterException.class).hasMessageContaining("needs a --memory limit");
        assertThat(LimitOptions.swapBeyondMax(100L, 150L, RuntimeException::new)).isEqualTo(50);
        assertThat(LimitOptions.swapBeyondMax(100L, null, RuntimeException::new)).isNull();
    }

    @Test
    void pidsAndBlkioFollowDockersZeroes() {
        assertThat(runSpec("--pids-limit", "0", "x").limits().pids().max()).isEqualTo(-1);
        assertThat(runSpec("--pids-limit", "-1", "x").limits().pids().max()).isEqualTo(-1);
        assertThat(runSpec("--blkio-weight", "0", "x").limits()).as("0 disables").isNull();
        assertThat(runSpec("--device-write-bps", "/dev/vda:max", "x").limits().io().devices().get(0).writeBps())
                .isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void theHostRootIsReadOnlyUnlessTheOverrideIsGiven() {
        ContainerSpec ro = runSpec("--rootfs", "host", "x");
        assertThat(ro.rootfs()).isEqualTo("host");
        assertThat(ro.readOnlyRootfs()).as("the daemon's default: read-only").isNull();
        assertThat(ro.dangerouslyAllowHostPaths()).isNull();
        ContainerSpec rw = runSpec("--rootfs", "host", "--dangerously-allow-host-paths", "x");
        assertThat(rw.readOnlyRootfs()).isFalse();
        assertThat(rw.dangerouslyAllowHostPaths()).isTrue();
        assertThat(runSpec("--rootfs", "host", "--dangerously-allow-host-paths", "--read-only", "x").readOnlyRootfs())
                .isTrue();
        ContainerSpec bind = runSpec("--rootfs", "/srv/root", "--dangerously-allow-host-paths", "-v", "/:/host", "x");
        assertThat(bind.readOnlyRootfs()).as("only the host's root becomes writable").isNull();
        assertThat(bind.dangerouslyAllowHostPaths()).isTrue();
    }

    /** Docker's --env-file: KEY=VALUE as written, KEY alone from the client's env (left out when unset), # comments. */
    @Test
    void envFileReadsDockersFormatAndDashEWinsOverIt(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("app.env"), """
                # a comment
                A=1
                  B= spaced\s
                QUOTED="as is"
                FROM_ENV
                MISSING

                EMPTY=
                C=x=y
                A=2
                """);
        Path more = Files.writeString(dir.resolve("more.env"), "D=4\nC=from-second\n");
        ContainerSpec spec = runSpec("--env-file", file.toString(), "--env-file", more.toString(), "-e", "D=dash-e",
                "x");
        assertThat(spec.env()).containsExactly(Map.entry("A", "2"), Map.entry("B", " spaced "),
                Map.entry("QUOTED", "\"as is\""), Map.entry("FROM_ENV", "value"), Map.entry("EMPTY", ""),
                Map.entry("C", "from-second"), Map.entry("D", "dash-e"));
    }

    @Test
    void aBadEnvFileIsOneLineNamingTheFlag(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> runSpec("--env-file", dir.resolve("none.env").toString(), "x"))
                .isInstanceOf(ParameterException.class)
                .hasMessage("--env-file: cannot read " + dir.resolve("none.env") + ": no such file");
        Path spaced = Files.writeString(dir.resolve("bad.env"), "OK=1\nMY VAR=2\n");
        assertThatThrownBy(() -> runSpec("--env-file", spaced.toString(), "x")).isInstanceOf(ParameterException.class)
                .hasMessage("--env-file: " + spaced + " line 2: variable 'MY VAR' contains whitespace");
        Path noName = Files.writeString(dir.resolve("noname.env"), "=2\n");
        assertThatThrownBy(() -> runSpec("--env-file", noName.toString(), "x"))
                .hasMessage("--env-file: " + noName + " line 1: no variable name in '=2'");
        Path binary = Files.write(dir.resolve("bin.env"), new byte[] {'A', '=', (byte) 0xff});
        assertThatThrownBy(() -> runSpec("--env-file", binary.toString(), "x"))
                .hasMessage("--env-file: " + binary + " is not UTF-8 text");
        Cli.Result r = Cli.run("run", "--rootfs", "/srv", "--env-file", dir.resolve("none.env").toString(), "x");
        assertThat(r.code()).as("as docker run: 125").isEqualTo(125);
        assertThat(r.errLines()).singleElement().asString().startsWith("corral: --env-file: cannot read ");
    }

    /** --entrypoint is one program; COMMAND follows as its arguments; "" resets it, leaving COMMAND alone. */
    @Test
    void entrypointComesBeforeTheCommandAndReplacesTheImagesEntrypointAndCmd() {
        assertThat(runSpec("--image", "img", "--entrypoint", "/bin/echo", "a", "b").command())
                .containsExactly("/bin/echo", "a", "b");
        assertThat(runSpec("--image", "img", "--entrypoint", "/bin/sh -c").command()).as("one word, as docker")
                .containsExactly("/bin/sh -c");
        assertThat(runSpec("--image", "img", "--entrypoint", "", "ls", "/").command()).containsExactly("ls", "/");
        assertThatThrownBy(() -> runSpec("--image", "img", "--entrypoint", "")).isInstanceOf(ParameterException.class)
                .hasMessage("--entrypoint: '' clears the image's entrypoint and cmd: give a COMMAND");
        assertThat(runSpec("--image", "img").command()).as("without it, the image's").isNull();
    }

    /** As docker run without an image: exit 125 and one line, before any request (no daemon here). */
    @Test
    void runWithoutImageOrRootfsIsRefusedInOneLine() {
        Cli.Result r = Cli.run("run", "--memory", "64m", "sh", "-c", "true");
        assertThat(r.code()).as(r.toString()).isEqualTo(125);
        assertThat(r.errLines()).as(r.toString()).singleElement().asString().startsWith("corral: ")
                .contains("--image").contains("--rootfs host");
    }

    @Test
    void volumes() {
        RunCommand run = Cli.parse(RunCommand.class, "run", "x");
        assertThat(run.container.volume("/a:/b")).isEqualTo(new ContainerSpec.Mount("bind", "/a", "/b", true, null, null));
        assertThat(run.container.volume("/a:/b:ro").readOnly()).isTrue();
        assertThat(run.container.volume("/a:/b:rw").readOnly()).isFalse();
        assertThatThrownBy(() -> run.container.volume("/b")).hasMessageContaining("anonymous volumes");
        assertThatThrownBy(() -> run.container.volume("data:/b")).hasMessageContaining("named volumes");
        assertThatThrownBy(() -> run.container.volume("/a:b")).hasMessageContaining("absolute container path");
        assertThatThrownBy(() -> run.container.volume("/a:/b:z")).hasMessageContaining("'z' is not supported");
        assertThatThrownBy(() -> run.container.volume("/a:/b:ro:x")).hasMessageContaining("SRC:DST");
        assertThatThrownBy(() -> run.container.volume(":/b")).hasMessageContaining("SRC:DST");
    }

    @Test
    void tmpfs() {
        RunCommand run = Cli.parse(RunCommand.class, "run", "x");
        assertThat(run.container.tmpfs("/t")).isEqualTo(new ContainerSpec.Mount("tmpfs", null, "/t", null, null, null));
        assertThat(run.container.tmpfs("/t:size=64m,mode=1777"))
                .isEqualTo(new ContainerSpec.Mount("tmpfs", null, "/t", null, 64 * MIB, "1777"));
        assertThat(run.container.tmpfs("/t:mode=700,ro").readOnly()).isTrue();
        assertThat(run.container.tmpfs("/t:size=1g").size()).isEqualTo(1L << 30);
        assertThatThrownBy(() -> run.container.tmpfs("/t:size=big")).hasMessageContaining("'big' is not a size");
        assertThatThrownBy(() -> run.container.tmpfs("/t:mode=999")).hasMessageContaining("octal");
        assertThatThrownBy(() -> run.container.tmpfs("/t:noexec")).hasMessageContaining("'noexec' is not supported");
        assertThatThrownBy(() -> run.container.tmpfs("t")).hasMessageContaining("absolute");
    }

    @Test
    void envNameAloneTakesTheCliEnvironmentsValue() {
        assertThat(runSpec("-e", "FROM_ENV", "-e", "MISSING", "-e", "X=a=b", "x").env())
                .containsExactly(Map.entry("FROM_ENV", "value"), Map.entry("X", "a=b"));
        assertThatThrownBy(() -> runSpec("-e", "=v", "x")).hasMessageContaining("NAME=VALUE");
    }

    @Test
    void otherRunChecks() {
        assertThatThrownBy(() -> runSpec("--network", "no/such", "x")).hasMessageContaining("bridge, none, host");
        assertThatThrownBy(() -> runSpec("-p", "80:http", "x")).hasMessageContaining("-p: '80:http'");
        assertThatThrownBy(() -> runSpec("-p", "70000:80", "x")).hasMessageContaining("not 1-65535");
        assertThat(runSpec("-p", "127.0.0.1:8080:80", "-p", "53/udp", "-p", ":81", "x").ports()).containsExactly(
                new ContainerSpec.Port("127.0.0.1", 8080, 80, null), new ContainerSpec.Port(null, null, 53, "udp"),
                new ContainerSpec.Port(null, null, 81, null));
        assertThatThrownBy(() -> runSpec("-u", "a:b:c", "x")).hasMessageContaining("USER[:GROUP]");
        assertThat(runSpec("-u", "nobody:staff", "x").user()).isEqualTo(new ContainerSpec.User(null, null, null,
                "nobody:staff"));
        ContainerSpec addressed = runSpec("--ip", "10.77.0.9", "--mac-address", "02:00:00:00:00:09", "x");
        assertThat(addressed.ip()).as("docker's --ip").isEqualTo("10.77.0.9");
        assertThat(addressed.macAddress()).as("docker's --mac-address").isEqualTo("02:00:00:00:00:09");
        assertThat(runSpec("x").ip()).isNull();
        assertThatThrownBy(() -> runSpec("--name", "bad/name", "x")).hasMessageContaining("not a valid name");
        assertThatThrownBy(() -> runSpec("--cpus", "0", "x")).hasMessageContaining("--cpus");
        assertThat(runSpec("--rm", "-d", "x").command()).as("run -d --rm: the daemon removes it at its exit")
                .containsExactly("x");
        assertThat(runSpec("--init", "x").init()).as("docker's --init").isTrue();
        assertThat(runSpec("x").init()).as("the command is PID 1 by default").isNull();
        assertThatThrownBy(() -> runSpec()).hasMessageContaining("needs a COMMAND");
        assertThatThrownBy(() -> runSpec("--device-read-iops", "/dev/vda:fast", "x"))
                .hasMessageContaining("'fast' is not a number");
        assertThatThrownBy(() -> runSpec("--device-read-bps", "/dev/vda", "x")).hasMessageContaining("DEVICE:RATE");
        assertThat(runSpec("-u", "7", "x").user()).as("a uid alone: its group from the container's /etc/passwd")
                .isEqualTo(new ContainerSpec.User(null, null, null, "7"));
        assertThat(runSpec("-u", "7:8", "x").user()).isEqualTo(new ContainerSpec.User(7L, 8L, null));
    }

    @Test
    void generatedNamesAreValidNames() {
        for (int i = 0; i < 200; i++) {
            assertThat(Names.generate()).matches(SpecValidator.NAME);
            assertThat(Names.generateWithSuffix()).matches(SpecValidator.NAME);
        }
    }

    @Test
    void updateFlagsBecomeALimitsPatch() throws Exception {
        UpdateCommand update = Cli.parse(UpdateCommand.class, "update", "-m", "64m", "--memory-reservation", "32m",
                "--memory-swap", "96m", "--cpus", "0.5", "--cpu-quota", "20000", "--cpu-period", "100000",
                "--cpu-shares", "256", "--cpuset-cpus", "1", "--cpuset-mems", "0", "--pids-limit", "20",
                "--blkio-weight", "100", "--device-read-bps", "/dev/vda:1m", "--device-write-bps", "/dev/vda:2m",
                "--device-read-iops", "/dev/vda:10", "--device-write-iops", "/dev/vda:20", "c1", "c2");
        assertThat(update.names).containsExactly("c1", "c2");
        ContainerSpec.Limits limits = update.limits.toLimits(null, RuntimeException::new);
        assertThat(json(limits)).isEqualTo(json("""
                {'memory':{'max':67108864,'swap':33554432,'reservation':33554432},
                 'cpu':{'cpus':0.5,'quota':20000,'period':100000,'shares':256,'cpusetCpus':'1','cpusetMems':'0'},
                 'io':{'weight':100,'devices':[{'device':'/dev/vda','readBps':1048576,'writeBps':2097152,
                   'readIops':10,'writeIops':20}]},
                 'pids':{'max':20}}"""));
        assertThat(SpecParser.read(SpecParser.JSON.writeValueAsBytes(limits), ContainerSpec.Limits.class))
                .isEqualTo(limits);
        UpdateCommand swapOnly = Cli.parse(UpdateCommand.class, "update", "--memory-swap", "300m", "c");
        assertThat(swapOnly.limits.needsCurrentMemory()).isTrue();
        assertThat(swapOnly.limits.toLimits(256 * MIB, RuntimeException::new).memory())
                .isEqualTo(new ContainerSpec.Memory(null, null, 44 * MIB, null));
        assertThat(json(Cli.parse(UpdateCommand.class, "update", "-m", "1g", "c").limits
                .toLimits(null, RuntimeException::new))).isEqualTo(json("{'memory':{'max':1073741824}}"));
    }

    @Test
    void badSizesAndFlagsAreUsageErrorsOfOneLine() {
        for (List<String> args : List.of(
                List.of("run", "--memory", "12x", "true"),
                List.of("run", "--memory-reservation", "lots", "true"),
                List.of("run", "--memory-swap", "1q", "-m", "1g", "true"),
                List.of("run", "--device-write-bps", "/dev/vda:fast", "true"),
                List.of("run", "--tmpfs", "/t:size=huge", "true"),
                List.of("run", "-m", "256m", "--memory-swap", "128m", "true"),
                List.of("run", "--cpus", "many", "true"),
                List.of("run", "--network", "no/such", "true"),
                List.of("run", "-v", "relative:/x", "true"),
                List.of("run", "--image", "alpine", "--rootfs", "/srv/root", "true"),
                List.of("image"),
                List.of("image", "import"),
                List.of("image", "import", "/no/such/file.tar"),
                List.of("image", "import", "--name", "Bad Name", "/etc/hostname"),
                List.of("image", "rm", "UPPER:case"),
                List.of("image", "inspect", "a:b:c"),
                List.of("image", "ls", "--format", "yaml"),
                List.of("run", "--bogus", "true"),
                List.of("run"),
                List.of("update", "--memory", "12x", "c"),
                List.of("update", "c"),
                List.of("update", "--memory", "1g"),
                List.of("stop", "-t", "soon", "c"),
                List.of("stop", "-t", "-1", "c"),
                List.of("kill", "-s", "NOT A SIGNAL", "c"),
                List.of("rm", "../etc"),
                List.of("ps", "--format", "yaml"),
                List.of("ps", "--filter", "colour=red"),
                List.of("logs", "--tail", "x", "c"),
                List.of("events", "--since", "yesterday"),
                List.of("stats", "--format", "csv"),
                List.of("--host", "ftp://x", "ps"),
                List.of("ps", "--host", "tcp://h:99999"))) {
            Cli.Result r = Cli.run(args.toArray(String[]::new));
            // run's own errors are 125, as docker run's; the other commands' usage errors 2
            assertThat(r.code()).as(args + "\n" + r).isEqualTo(args.get(0).equals("run") ? 125 : 2);
            assertThat(r.errLines()).as(args + "\n" + r).hasSize(1);
            assertThat(r.err()).as(args + "\n" + r).startsWith("corral: ");
        }
        assertThat(Cli.run("run", "--memory", "12x", "true").err()).contains("'12x' is not a size");
        assertThat(Cli.run("run", "--image", "alpine", "--rootfs", "/srv/root", "true").err())
                .contains("give one of them");
        assertThat(Cli.run("image", "rm", "UPPER:case").err()).contains("is not an image name");
    }

    @Test
    void daemonAddresses() {
        assertThat(DaemonAddress.parse("unix:///run/corral/corral.sock")).isEqualTo(DaemonAddress.DEFAULT);
        assertThat(DaemonAddress.parse("/tmp/x.sock")).isEqualTo(DaemonAddress.unix("/tmp/x.sock"));
        assertThat(DaemonAddress.parse("tcp://127.0.0.1:9431")).isEqualTo(DaemonAddress.tcp("127.0.0.1", 9431));
        assertThat(DaemonAddress.parse("tcp://example.org")).isEqualTo(DaemonAddress.tcp("example.org", 9431));
        assertThat(DaemonAddress.parse("http://h:80/")).isEqualTo(DaemonAddress.tcp("h", 80));
        assertThat(DaemonAddress.parse("tcp://[::1]:7")).isEqualTo(DaemonAddress.tcp("::1", 7));
        assertThat(DaemonAddress.parse("tcp://[::1]")).isEqualTo(DaemonAddress.tcp("::1", 9431));
        assertThat(DaemonAddress.tcp("::1", 7)).hasToString("tcp://[::1]:7");
        assertThat(DaemonAddress.DEFAULT).hasToString("unix:///run/corral/corral.sock");
        for (String bad : List.of("unix://relative", "unix://", "ftp://h", "h:1", "tcp://h:0", "tcp://h:x",
                "tcp://::1:7", "tcp://[::1", "tcp://:80", "tcp://u@h:1")) {
            assertThatThrownBy(() -> DaemonAddress.parse(bad)).as(bad).hasMessageContaining(bad);
        }
    }

    @Test
    void theHostComesFromTheSubcommandThenTheTopLevelThenTheEnvironment() {
        Cli.environment(Map.of());
        assertThat(Cli.parse(PsCommand.class, "ps").address()).isEqualTo(DaemonAddress.DEFAULT);
        Cli.environment(Map.of("CORRAL_HOST", "tcp://env:1"));
        assertThat(Cli.parse(PsCommand.class, "ps").address()).isEqualTo(DaemonAddress.tcp("env", 1));
        assertThat(Cli.parse(PsCommand.class, "--host", "tcp://top:2", "ps").address())
                .isEqualTo(DaemonAddress.tcp("top", 2));
        assertThat(Cli.parse(PsCommand.class, "-H", "tcp://top:2", "ps", "-H", "unix:///sub").address())
                .isEqualTo(DaemonAddress.unix("/sub"));
        Cli.environment(Map.of("CORRAL_HOST", "nonsense"));
        assertThatThrownBy(() -> Cli.parse(PsCommand.class, "ps").address()).hasMessageContaining("CORRAL_HOST");
    }

    @Test
    void theTokenComesFromTheFlagThenTheEnvironmentAndOnlyForTcp() throws Exception {
        Path file = Files.createTempFile("corral-test-token", "");
        try {
            Files.writeString(file, "from-file\n");
            Cli.environment(Map.of("CORRAL_TOKEN", "from-env"));
            DaemonAddress tcp = DaemonAddress.tcp("h", 1);
            assertThat(Cli.parse(PsCommand.class, "--token-file", file.toString(), "ps").token(tcp)).isEqualTo("from-file");
            assertThat(Cli.parse(PsCommand.class, "ps", "--token-file", file.toString()).token(tcp)).isEqualTo("from-file");
            assertThat(Cli.parse(PsCommand.class, "ps").token(tcp)).isEqualTo("from-env");
            assertThat(Cli.parse(PsCommand.class, "ps").token(DaemonAddress.DEFAULT)).as("unix needs none").isNull();
            assertThatThrownBy(() -> Cli.parse(PsCommand.class, "ps", "--token-file", "/nonexistent/t").token(tcp))
                    .hasMessageContaining("cannot read /nonexistent/t");
        } finally {
            Files.delete(file);
        }
    }
}

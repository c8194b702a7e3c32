package dev.corral.agent.api;

import static io.vertx.core.http.HttpMethod.GET;
import static io.vertx.core.http.HttpMethod.POST;
import static org.assertj.core.api.Assertions.assertThat;

import dev.corral.agent.image.TestImages;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web page in a real browser (Debian's chromium through its chromedriver), against a real agent running two
 * busybox containers: a busy loop capped at 0.2 CPUs (the kernel throttles it) in a policy class of weight 2 (the
 * policy sets its cpu.shares: an action on its timeline), and an idle one. Screenshots go to
 * {@code -Dcorral.webScreenshots=DIR} (default target/screenshots; ../docs/images refreshes the README's).
 */
@Tag("root")
class WebPageBrowserTest {

    private static final Path CHROMIUM = Path.of("/usr/lib/chromium/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    /** A label value that would run script if the page ever put it in as markup. */
    private static final String EVIL = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";
    private static final String POLICY = "{'classes':[{'name':'capped','weight':2,'selector':{'names':['busy']}},"
            + "{'name':'rest','weight':1}],'policies':{'cpuFairness':{'enabled':true},'memoryPressure':{'enabled':false},"
            + "'oomProtection':{'enabled':false},'ioFairness':{'enabled':false}}}";

    private static String json(String s) {
        return s.replace('\'', '"');
    }

    @Test
    void showsTheHostAndEachContainerLiveWithPolicyActionsAndUserDataAsText() throws Exception {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if ("true".equals(System.getenv("CI"))) {
            assertThat(present).as("CI installs chromium and chromium-driver (.ci/run)").isTrue();
        }
        Assumptions.assumeTrue(present, "chromium and chromium-driver are not installed");
        Path archives = Files.createTempDirectory("corral-test-web");
        try (AgentFixture fx = new AgentFixture(json(POLICY), false)) {
            fx.agent.runtime().orElseThrow().images().importArchive(TestImages.write(archives, "bb.tar",
                    TestImages.ociArchive(TestImages.twoLayers(), TestImages.twoLayerConfig(), null, true)), "bb:v1");
            run(fx, "{'name':'busy','image':'bb:v1','command':['/bin/busybox','sh','-c','while :; do :; done'],"
                    + "'limits':{'cpu':{'cpus':0.2}},'labels':{'note':" + JsonObject.of("v", EVIL).encode()
                    .replaceAll("^\\{\"v\":|}$", "") + "}}");
            run(fx, "{'name':'idle','image':'bb:v1','command':['/bin/busybox','sleep','3600'],"
                    + "'limits':{'memory':{'max':33554432}}}");
            readOnlyAndOpen(fx);
            WebDriver browser = chromium();
            try {
                String base = "http://127.0.0.1:" + fx.agent.httpPort() + "/";
                browser.get(base);
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
                String busy = fx.parent + "/busy";
                String idle = fx.parent + "/idle";
                wait.until(d -> cellValue(d, busy, "thrN") >= 0 && cellValue(d, idle, "mem") >= 0);

                // The table's values are /metrics' within one cycle: between a read before and one after.
                long mem0 = metric(fx, "container_memory_usage_bytes", "idle");
                long thr0 = metric(fx, "container_cpu_cfs_throttled_periods_total", "busy");
                // strictly past thr0: a cycle after both reads has reached the page (with >=, a stale page passed
                // whenever busy went unthrottled for a cycle, as on a loaded host, and its idle memory was older
                // than mem0)
                wait.until(d -> cellValue(d, busy, "thrN") > thr0);
                long pageMem = cellValue(browser, idle, "mem");
                long pageThr = cellValue(browser, busy, "thrN");
                long mem1 = metric(fx, "container_memory_usage_bytes", "idle");
                long thr1 = metric(fx, "container_cpu_cfs_throttled_periods_total", "busy");
                assertThat(pageThr).as("throttled periods of busy").isBetween(thr0, thr1);
                assertThat(pageMem).as("memory of idle").isBetween(Math.min(mem0, mem1), Math.max(mem0, mem1));
                assertThat(text(browser, row(busy) + " [data-field=cls]")).isEqualTo("capped");

                // Live: the host CPU chart's newest point moves on without a reload.
                String hostCpu = "[data-chart=host-cpu] svg";
                wait.until(d -> attr(d, hostCpu, "data-last-t") != null);
                long t1 = Long.parseLong(attr(browser, hostCpu, "data-last-t"));
                wait.until(d -> Long.parseLong(attr(d, hostCpu, "data-last-t")) > t1);
                // the newest point's time moved on (above); its line is drawn (on a steady host the polyline's points
                // can be the same after the shift, so they are not compared: a rehearsal on a quiet machine saw that)
                assertThat(lastLine(browser, hostCpu)).as("the host CPU line").isNotBlank();

                Thread.sleep(2000); // the charts fill a little more
                screenshot(browser, "web-host.png");

                // Filtering narrows the table to what matches.
                browser.findElement(By.id("filter")).sendKeys("idle");
                wait.until(d -> d.findElements(By.cssSelector("#containers tbody tr")).size() == 1);

                // The throttled container's view: throttling, its class, its policy action, the label as text.
                browser.get(base + "#/c/" + java.net.URLEncoder.encode(busy, java.nio.charset.StandardCharsets.UTF_8));
                wait.until(d -> text(d, "[data-fact='Label note']") != null);
                wait.until(d -> text(d, "#c-events tr[data-type=policy]") != null);
                assertThat(text(browser, "#c-events tr[data-type=policy]")).contains("cpuFairness", "set-cpu-weight",
                        "class-weight");
                wait.until(d -> { // the kernel throttles most of its periods: it wants a whole core and has 0.2
                    String last = attr(d, "[data-chart=c-throttling] svg", "data-last");
                    return last != null && Double.parseDouble(last) > 0.5;
                });
                assertThat(text(browser, "[data-fact=Throttled]")).matches("[1-9][0-9]* periods.*");
                assertThat(text(browser, "[data-fact='Policy class']")).isEqualTo("capped");
                assertThat(text(browser, "[data-fact='Label note']")).as("the label, as text").isEqualTo(EVIL);
                assertThat(((JavascriptExecutor) browser).executeScript("return typeof window.pwned")).isEqualTo("undefined");
                assertThat(browser.findElements(By.tagName("img"))).as("no element made from the label").isEmpty();
                assertThat(browser.findElements(By.tagName("script"))).hasSize(1);
                Thread.sleep(1500);
                screenshot(browser, "web-container.png");

                // The policies view: the loaded classes and which containers each selects.
                browser.get(base + "#/policies");
                wait.until(d -> text(d, "[data-class=capped]") != null);
                assertThat(text(browser, "[data-class=capped]")).isEqualTo("busy");
                assertThat(text(browser, "[data-class=rest]")).isEqualTo("idle");
                assertThat(text(browser, "[data-fact=dryRun]")).isEqualTo("no");
                // A bad new version of the file is rejected, and the page says why (the old policy stays).
                Files.writeString(fx.policyFile(), json("{'classes':[{'name':'capped','weight':1000}]}"));
                wait.until(d -> {
                    String rejected = text(d, "#p-rejected");
                    return rejected != null && rejected.contains("weight");
                });
                assertThat(text(browser, "[data-class=capped]")).isEqualTo("busy");

                List<LogEntry> errors = browser.manage().logs().get(LogType.BROWSER).getAll().stream()
                        .filter(e -> e.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue()).toList();
                assertThat(errors).as("console errors").isEmpty();
            } finally {
                browser.quit();
            }
        } finally {
            try (var s = Files.walk(archives)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The page is public and read-only: no token needed to look, none accepted to change anything there. */
    private static void readOnlyAndOpen(AgentFixture fx) throws Exception {
        AgentFixture.Response page = fx.tcp(GET, "/", null, null);
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("text/html");
        assertThat(fx.tcp(GET, "/web/state", null, null).status()).isEqualTo(200);
        assertThat(fx.tcp(GET, "/v1/containers", null, null).status()).as("the API keeps its token").isEqualTo(401);
        assertThat(fx.tcp(POST, "/web/state", "{}", null).status()).isEqualTo(405);
        assertThat(fx.tcp(GET, "/web/container?id=/nope", null, null).status()).isEqualTo(404);
        // No page is open yet: the rows are built when asked for (not every cycle), and hold the running containers.
        String busy = fx.parent + "/busy";
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        String state = fx.tcp(GET, "/web/state", null, null).body();
        String idle = fx.parent + "/idle";
        // both rows, not just busy's: idle started second and can be a collection cycle behind (CI saw that)
        while (!(state.contains("\"" + busy + "\"") && state.contains("\"" + idle + "\""))
                && System.nanoTime() < deadline) {
            Thread.sleep(200);
            state = fx.tcp(GET, "/web/state", null, null).body();
        }
        assertThat(new JsonObject(state).getJsonArray("rows").stream().map(r -> ((JsonObject) r).getString("id")))
                .contains(busy, idle);
        AgentFixture.Response one = fx.tcp(GET, "/web/container?id="
                + java.net.URLEncoder.encode(busy, java.nio.charset.StandardCharsets.UTF_8), null, null);
        assertThat(one.status()).isEqualTo(200);
        assertThat(new JsonObject(one.body()).getJsonObject("row").getString("name")).isEqualTo("busy");
    }

    private static void run(AgentFixture fx, String spec) throws Exception {
        AgentFixture.Response r = fx.unix(POST, "/v1/containers?start=true", json(spec));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
    }

    private static String row(String cgroup) {
        return "#containers tr[data-id='" + cgroup + "']";
    }

    /** A number of the table, -1 while the row is not there; read in the page (it redraws every cycle). */
    private static long cellValue(WebDriver d, String cgroup, String field) {
        String v = attr(d, row(cgroup) + " [data-field=" + field + "]", "data-value");
        return v == null || v.isEmpty() ? -1 : Long.parseLong(v);
    }

    /** An attribute of the first element the selector finds, or null; one script call, so never a stale element. */
    private static String attr(WebDriver d, String selector, String name) {
        return (String) ((JavascriptExecutor) d).executeScript(
                "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
                selector, name);
    }

    /** The points of a chart's newest line (a line breaks where values are unknown). */
    private static String lastLine(WebDriver d, String chart) {
        return (String) ((JavascriptExecutor) d).executeScript("const all = document.querySelectorAll(arguments[0]);"
                + " return all.length ? all[all.length - 1].getAttribute('points') : null;", chart + " polyline");
    }

    private static String text(WebDriver d, String selector) {
        return (String) ((JavascriptExecutor) d).executeScript(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", selector);
    }

    private static long metric(AgentFixture fx, String name, String container) throws Exception {
        String body = fx.tcp(GET, "/metrics", null, null).body();
        Matcher m = Pattern.compile("(?m)^" + name + "\\{[^}]*name=\"" + container + "\"[^}]*} ([0-9.eE+]+)$").matcher(body);
        assertThat(m.find()).as(name + " of " + container + " in /metrics").isTrue();
        return (long) Double.parseDouble(m.group(1));
    }

    private static WebDriver chromium() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--hide-scrollbars");
        options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    private static void screenshot(WebDriver browser, String name) throws Exception {
        Path dir = Path.of(System.getProperty("corral.webScreenshots", "target/screenshots"));
        Files.createDirectories(dir);
        Files.write(dir.resolve(name), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
    }
}

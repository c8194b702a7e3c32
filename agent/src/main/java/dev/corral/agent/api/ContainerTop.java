package dev.corral.agent.api;

import dev.corral.agent.ContainerException;
import dev.corral.agent.cgroup.CgroupException;
import dev.corral.agent.runtime.ContainerRecord;
import dev.corral.agent.runtime.ContainerRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * GET /v1/containers/{name}/top?ps_args=: the processes of the container's cgroup, as docker top: the host's
 * {@code ps} (default {@code -ef}) run with the given arguments (split on whitespace, no shell), its rows kept when
 * their PID is one of the cgroup's.
 */
final class ContainerTop {

    private static final long TIMEOUT_SECONDS = 10;
    private static final int MAX_OUTPUT = 8 << 20;

    private ContainerTop() {
    }

    /** {"titles":[...],"processes":[[...]...]}; the last column keeps its spaces (the command line). */
    static Map<String, Object> run(ContainerRuntime runtime, String name, String psArgs)
            throws ContainerException, ApiError.BadRequest {
        ContainerRecord record = runtime.inspect(name);
        if (!record.state().isLive() || record.initPid() == null) {
            throw new ContainerException(ContainerException.Kind.CONFLICT, "'" + name + "' is not running");
        }
        Set<String> pids = new HashSet<>();
        try {
            runtime.cgroupOf(name).pids().forEach(p -> pids.add(Long.toString(p)));
        } catch (CgroupException e) {
            throw new ContainerException(ContainerException.Kind.FAILED, "cannot read the processes of '" + name
                    + "': " + e.getMessage());
        }
        List<String> argv = new ArrayList<>(List.of("ps"));
        String args = psArgs == null || psArgs.isBlank() ? "-ef" : psArgs.strip();
        if (args.length() > 256 || args.chars().anyMatch(c -> c < 0x20)) {
            throw new ApiError.BadRequest("ps_args", "must be up to 256 printable characters");
        }
        argv.addAll(Arrays.asList(args.split("\\s+")));
        String out = ps(argv, name);
        List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
        if (lines.isEmpty()) {
            throw new ApiError.BadRequest("ps_args", "ps " + args + " printed nothing");
        }
        List<String> titles = List.of(lines.get(0).strip().split("\\s+"));
        int pidColumn = titles.indexOf("PID");
        if (pidColumn < 0) {
            throw new ApiError.BadRequest("ps_args", "ps " + args + " shows no PID column (docker top's rule)");
        }
        List<List<String>> processes = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.strip().split("\\s+");
            if (f.length <= pidColumn || !pids.contains(f[pidColumn])) {
                continue;
            }
            int last = titles.size() - 1;
            List<String> row = new ArrayList<>(Arrays.asList(f).subList(0, Math.min(last, f.length)));
            if (f.length > last) {
                row.add(String.join(" ", Arrays.asList(f).subList(last, f.length)));
            }
            processes.add(row);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("titles", titles);
        result.put("processes", processes);
        return result;
    }

    /** ps's output goes to a temp file, so that the timeout holds whatever it prints or however it hangs. */
    private static String ps(List<String> argv, String name) throws ContainerException, ApiError.BadRequest {
        java.nio.file.Path out = null;
        Process p = null;
        try {
            out = java.nio.file.Files.createTempFile("corral-top-", ".txt");
            p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new ContainerException(ContainerException.Kind.FAILED, "ps did not finish in "
                        + TIMEOUT_SECONDS + " s");
            }
            if (java.nio.file.Files.size(out) > MAX_OUTPUT) {
                throw new ContainerException(ContainerException.Kind.FAILED, "ps printed over " + MAX_OUTPUT
                        + " bytes");
            }
            String text = java.nio.file.Files.readString(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new ApiError.BadRequest("ps_args", "ps " + String.join(" ", argv.subList(1, argv.size()))
                        + " failed: " + text.lines().findFirst().orElse("exit " + p.exitValue()));
            }
            return text;
        } catch (IOException e) {
            throw new ContainerException(ContainerException.Kind.FAILED, "cannot run ps for '" + name + "': "
                    + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ContainerException(ContainerException.Kind.FAILED, "interrupted");
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
            if (out != null) {
                try {
                    java.nio.file.Files.deleteIfExists(out);
                } catch (IOException e) {
                    // a temp file left in /tmp: nothing more to do
                }
            }
        }
    }
}

package dev.corral.exporter.discovery;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of {@code /proc/PID/cgroup}: {@code hierarchy-ID:controller-list:cgroup-path}, for example
 * {@code 4:memory:/process_api/57bb} (v1) or {@code 0::/user.slice} (v2, empty controller list). The path may
 * itself contain colons, so only the first two separate fields.
 */
public record ProcCgroupEntry(int hierarchyId, List<String> controllers, String path) {

    public ProcCgroupEntry {
        controllers = List.copyOf(controllers);
    }

    public boolean isUnified() {
        return hierarchyId == 0 && controllers.isEmpty();
    }

    public static List<ProcCgroupEntry> parseAll(String content) {
        List<ProcCgroupEntry> entries = new ArrayList<>();
        for (String line : content.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            int first = line.indexOf(':');
            int second = first < 0 ? -1 : line.indexOf(':', first + 1);
            if (second < 0) {
                throw new IllegalArgumentException("/proc/self/cgroup line is malformed: " + line);
            }
            int id;
            try {
                id = Integer.parseInt(line.substring(0, first));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("/proc/self/cgroup line is malformed: " + line, e);
            }
            String list = line.substring(first + 1, second);
            entries.add(new ProcCgroupEntry(id, list.isEmpty() ? List.of() : List.of(list.split(",")),
                    line.substring(second + 1)));
        }
        return entries;
    }
}

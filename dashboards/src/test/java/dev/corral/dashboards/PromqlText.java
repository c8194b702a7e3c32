package dev.corral.dashboards;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * Just enough PromQL lexing for the dashboard lint: which function call each metric name sits in, and the
 * range of each rate-like call. Label matchers and strings are skipped (they hold no metric names).
 */
final class PromqlText {

    static final Set<String> RATE_FUNCTIONS = Set.of("rate", "irate", "increase");

    /** A rate-like call and the text of its range selector, e.g. ("rate", "$__rate_interval"). */
    record RangeCall(String function, String range) {
    }

    private PromqlText() {
    }

    /** Metric names ending in {@code _total} that are not inside rate(), irate() or increase(). */
    static List<String> countersOutsideRate(String expr) {
        List<String> out = new ArrayList<>();
        scan(expr, (name, enclosing, range) -> {
            if (name.endsWith("_total") && enclosing.stream().noneMatch(RATE_FUNCTIONS::contains)) {
                out.add(name);
            }
        });
        return out;
    }

    /** Every rate(), irate() and increase() with the range of the selector inside it. */
    static List<RangeCall> rangeCalls(String expr) {
        List<RangeCall> out = new ArrayList<>();
        scan(expr, (name, enclosing, range) -> {
            String fn = enclosing.peek();
            if (range != null && fn != null && RATE_FUNCTIONS.contains(fn)) {
                out.add(new RangeCall(fn, range));
            }
        });
        return out;
    }

    private interface Visitor {
        /** A metric name (or other identifier not called), the calls around it (innermost first), its range. */
        void identifier(String name, Deque<String> enclosing, String range);
    }

    private static void scan(String s, Visitor visitor) {
        Deque<String> calls = new ArrayDeque<>();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '"' || c == '\'' || c == '`') {
                i = skipString(s, i);
            } else if (c == '{') {
                i = s.indexOf('}', i) + 1;
            } else if (c == '(') {
                calls.push("");
                i++;
            } else if (c == ')') {
                calls.pop();
                i++;
            } else if (Character.isLetter(c) || c == '_' || c == ':') {
                int end = i;
                while (end < s.length() && (Character.isLetterOrDigit(s.charAt(end)) || s.charAt(end) == '_'
                        || s.charAt(end) == ':')) {
                    end++;
                }
                String name = s.substring(i, end);
                int next = skipSpaces(s, end);
                if (next < s.length() && s.charAt(next) == '(') {
                    calls.push(name);
                    i = next + 1;
                    continue;
                }
                if (next < s.length() && s.charAt(next) == '{') {
                    next = skipSpaces(s, s.indexOf('}', next) + 1);
                }
                String range = null;
                if (next < s.length() && s.charAt(next) == '[') {
                    range = s.substring(next + 1, s.indexOf(']', next)).trim();
                }
                visitor.identifier(name, calls, range);
                i = end;
            } else if (Character.isDigit(c) || c == '$') {
                // numbers and durations; a Grafana variable outside a range has no metric in it
                i++;
                while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_'
                        || s.charAt(i) == '.')) {
                    i++;
                }
            } else if (c == '[') {
                i = s.indexOf(']', i) + 1;
            } else {
                i++;
            }
        }
    }

    private static int skipString(String s, int start) {
        char quote = s.charAt(start);
        int i = start + 1;
        while (i < s.length() && s.charAt(i) != quote) {
            i += s.charAt(i) == '\\' ? 2 : 1;
        }
        return i + 1;
    }

    private static int skipSpaces(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }
}

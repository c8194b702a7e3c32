package dev.corral.agent.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Docker's {@code --env-file} format: one {@code KEY=VALUE} a line, the value taken as it is (quotes and trailing
 * spaces included); {@code KEY} alone takes the client's own value and is left out when the client has none; blank
 * lines and lines starting with {@code #} are skipped, leading whitespace is ignored; a key with whitespace in it is
 * an error.
 */
final class EnvFile {

    private EnvFile() {
    }

    /** The variables in the order of the file; a later line wins over an earlier one. */
    static Map<String, String> read(String file, Function<String, RuntimeException> usage) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(Path.of(file));
        } catch (IOException | RuntimeException e) {
            throw usage.apply("--env-file: cannot read " + file + ": " + reason(e));
        }
        List<String> lines;
        try {
            lines = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString()
                    .lines().toList();
        } catch (CharacterCodingException e) {
            throw usage.apply("--env-file: " + file + " is not UTF-8 text");
        }
        return parse(file, lines, usage);
    }

    static Map<String, String> parse(String file, List<String> lines, Function<String, RuntimeException> usage) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (i == 0 && line.startsWith("\uFEFF")) {
                line = line.substring(1);
            }
            line = line.stripLeading();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            String key = eq < 0 ? line : line.substring(0, eq);
            if (key.isEmpty()) {
                throw usage.apply("--env-file: " + file + " line " + (i + 1) + ": no variable name in '" + line + "'");
            }
            if (key.chars().anyMatch(Character::isWhitespace)) {
                throw usage.apply("--env-file: " + file + " line " + (i + 1) + ": variable '" + key
                        + "' contains whitespace");
            }
            if (eq >= 0) {
                out.put(key, line.substring(eq + 1));
            } else {
                String value = ClientEnv.get(key);
                if (value != null) {
                    out.put(key, value);
                }
            }
        }
        return out;
    }

    private static String reason(Exception e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}

package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The module's packages depend one way only, each on those below it: dev.exalloc.management.internal, then
 * dev.exalloc.management, then dev.exalloc, then dev.exalloc.internal (which sees none of the others). Read from the
 * sources: every import and every qualified name of a dev.exalloc package in code (comments and strings left out).
 * The generated bindings (dev.exalloc.internal.bindings, another module) are outside the order.
 */
class PackageOrderTest {

    private static final Map<String, Integer> RANK = Map.of(
            "dev.exalloc.internal", 0,
            "dev.exalloc", 1,
            "dev.exalloc.management", 2,
            "dev.exalloc.management.internal", 3);

    private static final Pattern PACKAGE = Pattern.compile("(?m)^package ([\\w.]+);");
    /** A qualified name: lower-case segments (the package), then a type. */
    private static final Pattern REFERENCE = Pattern.compile("\\bdev\\.exalloc((?:\\.[a-z]\\w*)*)\\.[A-Z*]");

    /** The packages {@code source} (a compilation unit's text) refers to against the order, as messages. */
    static List<String> violations(String file, String source) {
        String code = source.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ")
                .replaceAll("\"(?:[^\"\\\\\\n]|\\\\.)*\"", "\"\"");
        Matcher p = PACKAGE.matcher(code);
        if (!p.find()) {
            return List.of(file + ": no package declaration");
        }
        String from = p.group(1);
        Integer fromRank = RANK.get(from);
        if (fromRank == null) {
            return List.of(file + ": package " + from + " has no place in the order (add it to the test)");
        }
        List<String> out = new ArrayList<>();
        Matcher m = REFERENCE.matcher(code);
        while (m.find()) {
            String to = "dev.exalloc" + m.group(1);
            if (to.startsWith("dev.exalloc.internal.bindings")) {
                continue;
            }
            Integer toRank = RANK.get(to);
            if (toRank == null) {
                out.add(file + ": refers to " + to + ", which has no place in the order");
            } else if (toRank > fromRank) {
                out.add(file + ": " + from + " refers to " + to + ", which is above it");
            }
        }
        return out;
    }

    @Test
    void packagesDependOneWay() throws IOException {
        Path root = Path.of("src/main/java/dev/exalloc");
        assertTrue(Files.isDirectory(root), "run from java-api/: " + root.toAbsolutePath());
        List<String> problems = new ArrayList<>();
        int files = 0;
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path f : walk.filter(x -> x.toString().endsWith(".java")).toList()) {
                files++;
                problems.addAll(violations(root.relativize(f).toString(), Files.readString(f)));
            }
        }
        assertTrue(files > 40, "found only " + files + " sources under " + root);
        assertEquals(List.of(), problems);
    }

    @Test
    void theCheckSeesAnUpwardReference() {
        assertEquals(1, violations("A.java", "package dev.exalloc.internal;\nimport dev.exalloc.Pool;\nclass A {}\n").size());
        assertEquals(1, violations("B.java", "package dev.exalloc;\nclass B { Object o = dev.exalloc.management"
                + ".ExallocManagement.DOMAIN; }\n").size());
        assertEquals(List.of(), violations("C.java", "package dev.exalloc.management;\nimport dev.exalloc.Pool;\n"
                + "import dev.exalloc.internal.Native;\n/** {@link dev.exalloc.management.internal.X} */\nclass C {\n"
                + "  String s = \"dev.exalloc.management.internal.Y\";\n}\n"));
    }
}

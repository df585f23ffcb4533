package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * dev.exalloc requires java.management only statically: on the module path, with the boot layer limited to the
 * module and what it needs ({@code --limit-modules dev.exalloc}), java.management is absent and the pool and lookaside
 * lists work, even with {@code -Dexalloc.management=true} (the MXBeans cannot be registered then: a warning, nothing
 * more). In a child JVM started from the class-path run.
 */
class WithoutManagementTest {

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theCoreRunsWithoutJavaManagement(boolean managementProperty) throws IOException, InterruptedException {
        Assumptions.assumeFalse(WithoutManagementTest.class.getModule().isNamed(), "class-path run only");
        List<String> classPath = Arrays.asList(System.getProperty("java.class.path").split(File.pathSeparator));
        String modulePath = classPath.stream()
                .filter(e -> e.replace('\\', '/').endsWith("java-api/target/classes"))
                .collect(Collectors.joining(File.pathSeparator));
        String testClasses = classPath.stream().filter(e -> e.replace('\\', '/').endsWith("target/test-classes"))
                .findFirst().orElseThrow();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--module-path", modulePath, "--limit-modules", "dev.exalloc",
                "--add-modules", "dev.exalloc", "--enable-native-access=dev.exalloc",
                "--illegal-native-access=deny", "-Dexalloc.management=" + managementProperty, "-cp", testClasses,
                "dev.exalloc.probe.WithoutManagement").redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, child.exitValue(), out);
        List<String> lines = out.lines().filter(l -> l.contains("=")).toList();
        assertEquals(List.of("named=true", "java.management=false", "lists=1"), lines, out);
        if (managementProperty) {
            assertTrue(out.contains("startup extension"), "the failed registration is logged: " + out);
        }
    }
}

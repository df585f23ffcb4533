package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exalloc.management.ExallocManagement;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code -Dexalloc.management=true} registers the MXBeans when the pool or a lookaside list is first used, through
 * the startup extension the management package provides (the core package does not know it); without the property,
 * nothing is registered until {@link ExallocManagement#register()}. Process-wide, so in child JVMs.
 */
class ManagementStartupTest {

    /** The child's main: args[0] is what to touch first (pool | lookaside). */
    public static final class Child {
        public static void main(String[] args) {
            if (args[0].equals("pool")) {
                Pool.trim();
            } else {
                Lookaside.all();
            }
            var server = ManagementFactory.getPlatformMBeanServer();
            System.out.println("pool bean=" + server.isRegistered(ExallocManagement.poolName(PoolKind.PAGED)));
            System.out.println("tags bean=" + server.isRegistered(ExallocManagement.tagsName()));
        }
    }

    @ParameterizedTest
    @CsvSource({"true, pool", "true, lookaside", "false, pool"})
    void thePropertyRegistersTheBeansAtFirstUse(boolean property, String first) throws IOException, InterruptedException {
        Assumptions.assumeFalse(ManagementStartupTest.class.getModule().isNamed(), "class-path run only");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "-D" + ExallocManagement.PROPERTY + "=" + property, "-cp", System.getProperty("java.class.path"),
                Child.class.getName(), first).redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, child.exitValue(), out);
        assertEquals(List.of("pool bean=" + property, "tags bean=" + property), out.lines().toList(), out);
    }
}

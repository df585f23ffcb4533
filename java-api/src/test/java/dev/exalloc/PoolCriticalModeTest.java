package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code -Dexalloc.pool.critical=true} (a process-wide choice, so in a child JVM): the address fast path through
 * critical downcalls allocates and frees, a double free is still a BugCheckError (the JVM lives), and condition
 * listeners, upcalls that would abort the JVM inside a critical call, are refused.
 */
class PoolCriticalModeTest {

    /** The child's main. */
    public static final class Child {
        public static void main(String[] args) {
            System.out.println("critical=" + Pool.criticalFastPath());
            Tag t = Tag.of("Crit");
            long sum = 0;
            for (int i = 0; i < 100_000; i++) {
                long p = Pool.allocateAddress(PoolType.NON_PAGED_NX, 16 + (i & 1023), t);
                sum += p;
                Pool.freeAddress(p, t);
            }
            System.out.println("pairs=" + (sum != 0));
            long p = Pool.allocateAddress(PoolType.PAGED, 64, t);
            Pool.freeAddress(p, t);
            try {
                Pool.freeAddress(p, t);
                System.out.println("double free: none");
            } catch (BugCheckError e) {
                System.out.printf("double free: 0x%X%n", e.code());
            }
            try (AutoCloseable _ = Pool.onCondition((k, c) -> { })) { // no upcall: fine with critical calls
                Pool.freeAddress(Pool.allocateAddress(PoolType.PAGED, 64, t), t);
                System.out.println("listener: accepted");
            } catch (Exception e) {
                System.out.println("listener: " + e);
            }
            long big = Pool.allocateAddress(PoolType.PAGED, 1 << 20, t); // a miss that maps memory
            Pool.freeAddress(big);
            System.out.println("diff=" + Pool.tag(t, PoolKind.PAGED).diff() + "/" + Pool.tag(t, PoolKind.NON_PAGED).diff());
        }
    }

    @Test
    void criticalFastPathInAChildJvm() throws IOException, InterruptedException {
        // The child is started from the class path (the module-path run of surefire has only ModulePathTest).
        Assumptions.assumeFalse(PoolCriticalModeTest.class.getModule().isNamed(), "class-path run only");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Dexalloc.pool.critical=true",
                "-cp", System.getProperty("java.class.path"), Child.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, child.exitValue(), out);
        assertEquals(List.of("critical=true", "pairs=true", "double free: 0xC2", "listener: accepted", "diff=0/0"),
                out.lines().toList(), out);
    }
}
